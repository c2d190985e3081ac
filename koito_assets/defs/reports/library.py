"""The library's totals: listens, artists, releases and tracks, with and without images."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import dagster as dg
import psycopg
from psycopg.rows import dict_row

from koito_assets.db.sql_files import sql_text


@dataclass(frozen=True)
class LibraryTotals:
    listens: int
    artists: int
    artists_with_image: int
    releases: int
    releases_with_image: int
    tracks: int
    tracks_with_image: int
    files_imported: int
    first_listened_at: datetime | None
    last_listened_at: datetime | None


def library_totals(conn: psycopg.Connection) -> LibraryTotals:
    """Count the library now (a count of ``listens`` is the only scan: tens of ms per million)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(sql_text("reports", "library_totals")).fetchone()
    return LibraryTotals(**row)


def library_metadata(totals: LibraryTotals) -> dict[str, dg.MetadataValue]:
    """Numeric entries first: Dagster plots each of them across materialisations."""
    metadata: dict[str, dg.MetadataValue] = {
        "listens": dg.MetadataValue.int(totals.listens),
        "artists": dg.MetadataValue.int(totals.artists),
        "artists_with_image": dg.MetadataValue.int(totals.artists_with_image),
        "artists_without_image": dg.MetadataValue.int(totals.artists - totals.artists_with_image),
        "releases": dg.MetadataValue.int(totals.releases),
        "releases_with_image": dg.MetadataValue.int(totals.releases_with_image),
        "releases_without_image": dg.MetadataValue.int(
            totals.releases - totals.releases_with_image
        ),
        "tracks": dg.MetadataValue.int(totals.tracks),
        "tracks_with_image": dg.MetadataValue.int(totals.tracks_with_image),
        "tracks_without_image": dg.MetadataValue.int(totals.tracks - totals.tracks_with_image),
        "files_imported": dg.MetadataValue.int(totals.files_imported),
    }
    if totals.first_listened_at is not None and totals.last_listened_at is not None:
        metadata["first_listen"] = dg.MetadataValue.timestamp(totals.first_listened_at)
        metadata["last_listen"] = dg.MetadataValue.timestamp(totals.last_listened_at)
    return metadata


def record_library_totals(instance: dg.DagsterInstance, totals: LibraryTotals) -> None:
    """A materialisation of ``koito_library`` outside any run (``koito-import images``), so the
    plots also get a point for an image run started from a terminal."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="koito_library", metadata=library_metadata(totals))
    )
