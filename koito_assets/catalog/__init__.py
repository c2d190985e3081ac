"""Koito's entity rules: from a scrobble to Koito's artists, releases and tracks.

Public API:

- ``lookup_key.lookup_key(record) -> str``: the track_lookup cache key of a record.
- ``submit.submit_listen(conn, record, *, musicbrainz, settings) -> SubmitResult``: one listen,
  Koito's SubmitListen with the cache's one-statement fast path.
- ``resolve.resolve_keys(pool, records, *, musicbrainz, settings) -> ResolveResult``: many
  distinct keys at once, set-based; what the import's resolved_lookup stage calls.
- ``artist_parsing.parse_artists(artist, title, separators) -> list[str]``: Koito's feat. parsing.
- ``validation.InvalidRecord``: a record the catalogue refuses, with the reason.

Nothing is imported here, so importing ``lookup_key`` (per record, in staging) stays cheap.
"""
