"""MusicBrainz answers for one bulk resolution: each asked once, fetched ahead by N workers.

MusicBrainz allows one request a second, and a bulk resolution holds locks while it decides;
so every answer the batch will need is fetched first, in parallel by ``resolve_workers``
threads and outside any transaction, and the rules then read them from memory. Failures are
remembered too: Koito treats any failure as "unreachable" and falls back, and asking again
within one import would only repeat the wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import psycopg

from koito_assets.enrich.musicbrainz import (
    DisabledMusicBrainz,
    MbArtist,
    MbRecording,
    MbRelease,
    MusicBrainz,
    MusicBrainzError,
)
from koito_assets.sources.record import Scrobble

_Answer = object


class MemoMusicBrainz:
    """A :class:`MusicBrainz` that remembers every answer and every failure; thread-safe."""

    def __init__(self, inner: MusicBrainz) -> None:
        self.inner = inner
        self.requests = 0
        self._answers: dict[tuple[str, str], _Answer | MusicBrainzError] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return not isinstance(self.inner, DisabledMusicBrainz)

    def _ask(self, what: str, mbid: str, call: Callable[[str], _Answer]) -> _Answer:
        key = (what, mbid)
        with self._lock:
            known = self._answers.get(key)
        if known is None:
            try:
                known = call(mbid)
            except MusicBrainzError as exc:
                known = exc
            with self._lock:
                self.requests += 1
                self._answers[key] = known
        if isinstance(known, MusicBrainzError):
            raise known
        return known

    def artist(self, mbid: str) -> MbArtist:
        return self._ask("artist", mbid, self.inner.artist)  # type: ignore[return-value]

    def release(self, mbid: str) -> MbRelease:
        return self._ask("release", mbid, self.inner.release)  # type: ignore[return-value]

    def release_group_titles(self, mbid: str) -> tuple[str, ...]:
        return self._ask("release-group", mbid, self.inner.release_group_titles)  # type: ignore[return-value]

    def recording(self, mbid: str) -> MbRecording:
        return self._ask("recording", mbid, self.inner.recording)  # type: ignore[return-value]

    def known(self, what: str, mbid: str) -> _Answer | None:
        """A remembered answer (None if never asked or failed), for planning the bulk loads."""
        answer = self._answers.get((what, mbid))
        return None if isinstance(answer, MusicBrainzError) else answer


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


def prefetch(
    conn: psycopg.Connection, records: Sequence[Scrobble], memo: MemoMusicBrainz, workers: int
) -> None:
    """Ask MusicBrainz, ``workers`` at a time, what resolving ``records`` will ask it.

    That is: every artist, release and recording MBID no entity has yet (a recording also when
    its track's length is unknown), and the release groups of those releases.
    """
    if not memo.enabled:
        return
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
        return
    params = {
        "artists": sorted(artists),
        "releases": sorted(releases),
        "recordings": sorted(recordings),
    }
    ask = {
        "artist": memo.artist,
        "release": memo.release,
        "recording": memo.recording,
        "release-group": memo.release_group_titles,
    }
    wanted: dict[
        tuple[str, str], None
    ] = {}  # each question once, even if two releases share a group
    for what, mbid in conn.execute(_ABSENT, params):
        wanted[(what, mbid)] = None
        if what == "release":
            wanted.update(
                dict.fromkeys(("release-group", group) for group in sorted(releases[mbid]))
            )
    _run([(ask[what], mbid) for what, mbid in wanted], workers)


def _run(calls: Iterable[tuple[Callable[[str], _Answer], str]], workers: int) -> None:
    def one(call: tuple[Callable[[str], _Answer], str]) -> None:
        try:
            call[0](call[1])
        except MusicBrainzError:
            pass  # remembered by the memo; the rules fall back when they ask

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="musicbrainz") as pool:
        list(pool.map(one, calls))
