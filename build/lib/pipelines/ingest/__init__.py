"""Landing files into the warehouse's raw tables: datasets, readers, row rules, loading."""
