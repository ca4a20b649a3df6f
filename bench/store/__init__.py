"""The result store: records in a versioned SQLite file."""
