"""Make a database ready for imports: migrations, the import user, a cache fitting the settings."""

from __future__ import annotations

from koito_assets.catalog.cache import match_settings, settings_fingerprint
from koito_assets.db.connection import connect
from koito_assets.db.migrate import KOITO_GOOSE_VERSION, MigrationReport, import_migrations, migrate
from koito_assets.db.users import IMPORT_USER_ID, ensure_import_user
from koito_assets.settings import Settings

# One round trip that says whether prepare_database would change anything.
_IS_PREPARED = """
SELECT to_regclass('koito_import.lookup_settings') IS NOT NULL
   AND (SELECT max(version_id) FROM goose_db_version WHERE is_applied) = %(goose)s
   AND (SELECT array_agg(version ORDER BY version) FROM koito_import.schema_migrations)
       @> %(ours)s::int[]
   AND EXISTS (SELECT 1 FROM users WHERE id = %(user)s)
   AND (SELECT fingerprint FROM koito_import.lookup_settings) = %(fingerprint)s
"""


def prepare_database(url: str, settings: Settings) -> MigrationReport:
    """Migrate the database at ``url`` and make sure Koito's user 1 exists."""
    with connect(url, autocommit=True) as conn:
        report = migrate(conn)
        report.created_default_user = ensure_import_user(
            conn, settings.default_username, settings.default_password
        )
        match_settings(conn, settings)
    return report


def is_prepared(url: str, settings: Settings) -> bool:
    """Whether ``prepare_database`` would find nothing to do (one query; False when unsure)."""
    params = {
        "goose": KOITO_GOOSE_VERSION,
        "ours": [m.version for m in import_migrations()],
        "user": IMPORT_USER_ID,
        "fingerprint": settings_fingerprint(settings),
    }
    with connect(url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT to_regclass('goose_db_version') IS NOT NULL "
            "AND to_regclass('koito_import.schema_migrations') IS NOT NULL"
        ).fetchone()[0]
        return bool(exists and conn.execute(_IS_PREPARED, params).fetchone()[0])
