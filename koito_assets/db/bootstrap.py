"""Make a database ready for imports: migrations, the import user, a lookup cache that fits the settings."""

from __future__ import annotations

from koito_assets.catalog.cache import match_settings
from koito_assets.db.connection import connect
from koito_assets.db.migrate import MigrationReport, migrate
from koito_assets.db.users import ensure_import_user
from koito_assets.settings import Settings


def prepare_database(url: str, settings: Settings) -> MigrationReport:
    """Migrate the database at ``url`` and make sure Koito's user 1 exists."""
    with connect(url, autocommit=True) as conn:
        report = migrate(conn)
        report.created_default_user = ensure_import_user(
            conn, settings.default_username, settings.default_password
        )
        match_settings(conn, settings)
    return report
