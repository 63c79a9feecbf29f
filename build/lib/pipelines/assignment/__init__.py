"""Balanced account-manager modules: the pure solver, its warehouse runner and its asset."""
