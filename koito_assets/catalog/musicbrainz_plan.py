"""What one bulk resolution will ask MusicBrainz, asked before it starts.

MusicBrainz allows one request a second, and a bulk resolution holds locks while it decides;
so every answer the batch will need is fetched first, outside any transaction, by a
:class:`~koito_assets.enrich.musicbrainz_asker.MusicBrainzAsker` (stored answers, then
searches of 100 MBIDs, then lookups), and the rules then read them from memory. A question no
plan foresaw is still asked when the rules ask it, one lookup, so the plan can only make
resolution cheaper, never different.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from koito_assets.enrich.musicbrainz import ARTIST, RECORDING, RELEASE, RELEASE_GROUP
from koito_assets.enrich.musicbrainz_asker import MusicBrainzAsker
from koito_assets.enrich.musicbrainz_store import Question
from koito_assets.sources.record import Scrobble

_ABSENT = """
SELECT 'artist', m FROM unnest(%(artists)s::text[]) AS m
WHERE NOT EXISTS (SELECT 1 FROM artists a WHERE a.musicbrainz_id = m::uuid)
UNION ALL
SELECT 'release', m FROM unnest(%(releases)s::text[]) AS m
WHERE NOT EXISTS (SELECT 1 FROM releases r WHERE r.musicbrainz_id = m::uuid)
UNION ALL
SELECT 'recording', m FROM unnest(%(recordings)s::text[]) AS m
WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.musicbrainz_id = m::uuid AND t.duration > 0)
"""


def planned_questions(conn: psycopg.Connection, records: Sequence[Scrobble]) -> list[Question]:
    """What resolving ``records`` will ask MusicBrainz, each question once.

    That is: every artist, release and recording MBID no entity has yet (a recording also when
    its track's length is unknown), and the release groups of those releases.
    """
    artists: set[str] = set()
    releases: dict[str, set[str]] = {}
    recordings: set[str] = set()
    for record in records:
        if record.koito is not None:
            continue  # Koito exports never ask MusicBrainz
        artists.update(record.artist_mbids)
        artists.update(mbid for _, mbid in record.artist_mbid_mappings)
        if record.release_mbid:
            groups = releases.setdefault(record.release_mbid, set())
            if record.release_group_mbid:
                groups.add(record.release_group_mbid)
        if record.recording_mbid:
            recordings.add(record.recording_mbid)
    if not (artists or releases or recordings):
        return []
    params = {
        "artists": sorted(artists),
        "releases": sorted(releases),
        "recordings": sorted(recordings),
    }
    kinds = {"artist": ARTIST, "release": RELEASE, "recording": RECORDING}
    wanted: dict[Question, None] = {}  # each question once, even if two releases share a group
    for what, mbid in conn.execute(_ABSENT, params):
        wanted[(kinds[what], mbid)] = None
        if what == "release":
            wanted.update(dict.fromkeys((RELEASE_GROUP, group) for group in sorted(releases[mbid])))
    return list(wanted)


def prefetch(
    conn: psycopg.Connection, records: Sequence[Scrobble], asker: MusicBrainzAsker
) -> None:
    """Answer, ahead of resolution, every question resolving ``records`` will ask."""
    if asker.enabled:
        asker.fetch(planned_questions(conn, records))
