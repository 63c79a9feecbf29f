"""Shared foundations: configuration, paths, the method's vocabularies, months, failpoints."""
