"""Every SQL statement of the project, installed as the package ``koito_assets.sql``.

- ``koito/``: Koito v0.1.x's schema as goose migrations 000001–000005 (docs/koito-reference.md).
- ``koito_import/``: our own schema ``koito_import``, one numbered migration per change.
- ``imports/``: the statements the import assets run.
- ``musicbrainz/``: the store of MusicBrainz's answers (koito_assets/enrich/musicbrainz_store.py).
- ``dedupe/``: the cross-source matching the load runs (docs/cross-source-dedupe.md).

Read them with :func:`koito_assets.db.sql_files.sql_text` or :func:`sql_folder`.
"""
