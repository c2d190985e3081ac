"""The import domain: export files → staged scrobbles → resolved keys → listens."""
