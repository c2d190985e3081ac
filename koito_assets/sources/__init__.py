"""Export files of Maloja, Spotify, Last.fm, ListenBrainz and Koito, read as normalised scrobbles.

``open_export(path, settings)`` detects the format and returns an :class:`Export`; iterating it
streams ``Scrobble | Skipped`` records in file order with flat memory, whatever the file size.
"""

from koito_assets.sources.context import ExportStats
from koito_assets.sources.errors import ExportError
from koito_assets.sources.export import Export, open_export
from koito_assets.sources.formats import FORMATS
from koito_assets.sources.record import (
    KoitoAlias,
    KoitoEntity,
    KoitoListen,
    Scrobble,
    Skipped,
    SkipReason,
)

__all__ = [
    "FORMATS",
    "Export",
    "ExportError",
    "ExportStats",
    "KoitoAlias",
    "KoitoEntity",
    "KoitoListen",
    "Scrobble",
    "SkipReason",
    "Skipped",
    "open_export",
]
