"""Routes into today's Koito (>= 0.3, SQLite): a Koito export file, and a merge into its database."""
