"""A self-contained HTML report of a publication, for people who read rather than query."""
