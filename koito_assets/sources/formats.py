"""The formats we read: their names (stored in the database later), what they are, their readers."""

from __future__ import annotations

from dataclasses import dataclass

from koito_assets.sources import (
    koito_export,
    lastfm,
    lastfm_csv,
    lastfmstats,
    listenbrainz,
    maloja,
    spotify_account,
    spotify_extended,
    spotify_zip,
)
from koito_assets.sources.reader import Reader


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    read: Reader


FORMATS: dict[str, Format] = {
    entry.name: entry
    for entry in (
        Format(maloja.FORMAT, "Maloja export or API scrobble list", maloja.read),
        Format(
            spotify_extended.FORMAT,
            "Spotify extended streaming history (Streaming_History_Audio_*.json, endsong_*.json)",
            spotify_extended.read,
        ),
        Format(
            spotify_account.FORMAT,
            "Spotify account-data history (StreamingHistory*.json)",
            spotify_account.read,
        ),
        Format(
            spotify_zip.FORMAT,
            "Spotify data download as it arrives (my_spotify_data.zip, either history)",
            spotify_zip.read,
        ),
        Format(lastfm.FORMAT, "Last.fm lastfm.ghan.nl JSON (recenttracks-*.json)", lastfm.read),
        Format(lastfm_csv.GHAN_FORMAT, "Last.fm lastfm.ghan.nl CSV", lastfm_csv.read_ghan),
        Format(
            lastfm_csv.LASTFM_TO_CSV_FORMAT,
            "Last.fm lastfm-to-csv CSV (4 columns)",
            lastfm_csv.read_lastfm_to_csv,
        ),
        Format(
            lastfmstats.FORMAT,
            "Last.fm history from lastfmstats.com (JSON with username and scrobbles)",
            lastfmstats.read,
        ),
        Format(listenbrainz.ZIP_FORMAT, "ListenBrainz export zip", listenbrainz.read_zip),
        Format(
            listenbrainz.JSON_FORMAT,
            "ListenBrainz old JSON export (*_lb-*.json)",
            listenbrainz.read_json,
        ),
        Format(koito_export.FORMAT, "Koito export version 1", koito_export.read),
    )
}


def formats_we_read() -> str:
    """One line listing every format, for "unknown format" messages."""
    return "; ".join(f"{entry.description} [{entry.name}]" for entry in FORMATS.values())
