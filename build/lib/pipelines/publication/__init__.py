"""Write, audit, publish: the staged file, its checks, the atomic swap and the catalogue."""
