"""The resources an import test runs with: its own database and settings, nothing global."""

from __future__ import annotations

from koito_assets.db.resource import KoitoDatabase
from koito_assets.settings_resource import SettingsResource


def import_resources(db_url: str, settings: SettingsResource | None = None) -> dict:
    """``settings`` and ``db`` for a materialisation against the test's database."""
    settings = settings or SettingsResource()
    return {"settings": settings, "db": KoitoDatabase(url=db_url, settings=settings)}
