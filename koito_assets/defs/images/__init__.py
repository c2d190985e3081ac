"""The images domain: the deferred image backfill, its job and its schedule."""
