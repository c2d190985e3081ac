"""The SQLite merge domain: a Koito >= 0.3 database kept in step with every import."""
