"""MusicBrainz asked in bulk builds exactly the catalogue one lookup per MBID builds.

Against the fake MusicBrainz and real PostgreSQL: a batch of ListenBrainz-like records whose
names differ from MusicBrainz's, with MBIDs that searches answer, MBIDs merged into others and
MBIDs not in the search index yet (both answered by lookup), unknown MBIDs (404), more MBIDs
than one search holds, and a release group with more releases than one page. The reference is
``submit_listen`` record by record, which asks one lookup per question.
"""

from __future__ import annotations

import psycopg
import pytest

from koito_assets.catalog.lookup_key import lookup_key
from koito_assets.catalog.resolve import ResolveResult, resolve_keys
from koito_assets.catalog.submit import submit_listen
from koito_assets.enrich.musicbrainz import DisabledMusicBrainz, HttpMusicBrainz, MusicBrainz
from koito_assets.settings import Settings
from koito_assets.sources.record import Scrobble
from tests.catalog import helpers
from tests.fakes.musicbrainz import FakeMusicBrainz, MbAlias, MbCredit, MbGroupRelease

SETTINGS = Settings(resolve_workers=3)


def uid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012d}"


ARTISTS = [uid(0xA, i) for i in range(4)]
RECORDINGS = [uid(0xC, i) for i in range(110)]
RELEASES = [uid(0xE, i) for i in range(3)]
GROUPS = [uid(0xF, i) for i in range(2)]
MERGED_ARTIST, MERGED_RECORDING = uid(0xA, 900), uid(0xC, 900)
FRESH_RECORDING, FRESH_RELEASE = uid(0xC, 901), uid(0xE, 901)  # not in the search index yet
UNKNOWN_ARTIST, UNKNOWN_RECORDING = uid(0xA, 999), uid(0xC, 999)  # 404


def register(mb: FakeMusicBrainz) -> None:
    for i, mbid in enumerate(ARTISTS):
        mb.add_artist(
            mbid,
            f"Artist {i}",
            [
                MbAlias(f"アーティスト{i}", locale="ja", primary=True),
                MbAlias(f"artist {i}", locale="en", primary=False),
            ],
        )
    for i, mbid in enumerate(RECORDINGS):
        mb.add_recording(mbid, f"Song {i}", None if i % 7 == 0 else 200_000 + i)
    mb.merge("artist", MERGED_ARTIST, ARTISTS[1])
    mb.merge("recording", MERGED_RECORDING, RECORDINGS[5])
    mb.add_recording(FRESH_RECORDING, "Fresh Song", 123_000, indexed=False)
    # a group with more releases than one page of a browse or a lookup's 25
    big = [MbGroupRelease(uid(0xB, i), f"Album 0 (take {i % 40})") for i in range(130)]
    mb.add_release_group(GROUPS[0], "Album 0", [MbGroupRelease(RELEASES[0], "Album 0"), *big])
    mb.add_release_group(
        GROUPS[1],
        "Album 1",
        [MbGroupRelease(RELEASES[1], "Album 1"), MbGroupRelease(uid(0xB, 500), "Album Eins")],
    )
    mb.add_release(RELEASES[0], "Album 0", [MbCredit("Artist 0")], release_group=GROUPS[0])
    mb.add_release(RELEASES[1], "Album 1", [MbCredit("Artist 1")], release_group=GROUPS[1])
    mb.add_release(RELEASES[2], "Hits", [MbCredit("Various Artists")])
    mb.add_release(FRESH_RELEASE, "Fresh", [MbCredit("Artist 2")], indexed=False)


def records() -> list[Scrobble]:
    """Listens as ListenBrainz exports them: names as the player sent them, MBIDs mapped."""
    out = []
    releases = [
        (RELEASES[0], GROUPS[0], "album 0"),
        (RELEASES[1], GROUPS[1], "ALBUM 1"),
        (RELEASES[2], None, "hits"),
        (FRESH_RELEASE, None, "fresh"),
        (None, None, ""),
    ]
    recordings = [*RECORDINGS, MERGED_RECORDING, FRESH_RECORDING, UNKNOWN_RECORDING]
    artists = [*ARTISTS, MERGED_ARTIST, UNKNOWN_ARTIST]
    for i, recording in enumerate(recordings):
        artist = artists[i % len(artists)]
        name = f"artist {artists.index(artist)}"
        release, group, album = releases[i % len(releases)]
        for repeat in range(2):  # a second listen of some tracks, later
            if repeat and i % 4:
                continue
            out.append(
                Scrobble(
                    listened_at=1_700_000_000 + i * 10 + repeat * 5000,
                    artist=name,
                    track=f"song {i}" if i % 3 else f"Song {i}",
                    album=album,
                    artist_names=(name,),
                    artist_mbids=(artist,),
                    artist_mbid_mappings=((name, artist),),
                    recording_mbid=recording,
                    release_mbid=release,
                    release_group_mbid=group,
                    duration_s=0 if i % 2 else 180,
                    client="listenbrainz",
                )
            )
    return out


def client(fake: FakeMusicBrainz | str, rate: float = 1000.0, **tuning: float) -> HttpMusicBrainz:
    url = fake if isinstance(fake, str) else fake.url
    options = {"timeout_s": 2.0, "max_retries": 0, "backoff_s": 0.01, **tuning}
    return HttpMusicBrainz(url, rate_limit_per_s=rate, **options)  # type: ignore[arg-type]


def one_by_one(url: str, batch: list[Scrobble], musicbrainz: MusicBrainz) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        for record in batch:
            submit_listen(conn, record, musicbrainz=musicbrainz, settings=SETTINGS)
        return helpers.catalogue(conn)


def in_bulk(
    url: str, batch: list[Scrobble], musicbrainz: MusicBrainz
) -> tuple[dict, ResolveResult]:
    first: dict[str, Scrobble] = {}
    for record in batch:
        first.setdefault(lookup_key(record), record)
    with helpers.pool_for(url) as pool:
        result = resolve_keys(
            pool, list(first.values()), musicbrainz=musicbrainz, settings=SETTINGS
        )
    assert not result.failed and result.live_queries == 0
    with psycopg.connect(url, autocommit=True) as conn:
        helpers.insert_listens(conn, batch, result.ids)
        return helpers.catalogue(conn), result


@pytest.fixture
def mb(fake_musicbrainz: FakeMusicBrainz) -> FakeMusicBrainz:
    register(fake_musicbrainz)
    return fake_musicbrainz


def assert_same(expected: dict, got: dict) -> None:
    for part in expected:
        missing, extra = expected[part] - got[part], got[part] - expected[part]
        assert not missing and not extra, (
            f"{part}: only one lookup per MBID {dict(missing)}; only in bulk {dict(extra)}"
        )


def test_batched_answers_build_what_one_lookup_per_mbid_builds(pg_server, template_db, mb):
    batch = records()
    with (
        helpers.fresh_database(pg_server, template_db) as a,
        helpers.fresh_database(pg_server, template_db) as b,
    ):
        expected = one_by_one(a, batch, client(mb))
        per_mbid = mb.request_counts()
        mb.clear_log()
        got, result = in_bulk(b, batch, client(mb))
    assert_same(expected, got)
    # the big group's every title is an alias of its release; MusicBrainz's names and lengths won
    titles = {alias for r in got["releases"] for alias, _, _ in r[4]}
    assert {"Album 0 (take 0)", "Album 0 (take 39)", "Album Eins"} <= titles
    counts = mb.request_counts()
    assert per_mbid["search"] == 0 and per_mbid["lookup"] > 110
    # one search per kind (the recordings take two: 111 MBIDs), a browse never; lookups only for
    # the merged, the unindexed and the unknown MBIDs
    assert counts == {"search": 5, "lookup": 8}  # two of them redirects of merged MBIDs
    assert result.musicbrainz_requests == 11 and result.musicbrainz_lookups_fallback == 6
    assert result.musicbrainz_from_store == 0 and not result.musicbrainz_unreachable


def test_a_search_server_that_is_down_changes_nothing_but_the_cost(pg_server, template_db, mb):
    batch = records()
    with (
        helpers.fresh_database(pg_server, template_db) as a,
        helpers.fresh_database(pg_server, template_db) as b,
    ):
        expected = one_by_one(a, batch, client(mb))
        mb.clear_log()
        mb.fail_searches(503)
        got, result = in_bulk(b, batch, client(mb))
    assert_same(expected, got)
    # given up after two failures (searches already under way finish): every MBID by lookup
    assert 2 <= mb.request_counts()["search"] <= 1 + SETTINGS.resolve_workers
    counts = mb.request_counts()
    # every question: 6 artists, 113 recordings, 4 releases, 2 groups (by browse, the big one
    # in two pages); the fake also sees the 2 redirects of the merged MBIDs
    assert result.musicbrainz_lookups_fallback == 6 + 113 + 4 + 2
    assert (counts["lookup"], counts["browse"]) == (6 + 113 + 4 + 2, 3)


def test_a_second_import_of_the_same_mbids_asks_nothing(db_url, mb):
    batch = records()
    expected, first = in_bulk(db_url, batch, client(mb))
    assert first.musicbrainz_requests > 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        # a new catalogue (Koito's tables emptied), the answers kept
        conn.execute("TRUNCATE artists, releases, tracks, listens CASCADE")
    mb.clear_log()
    got, again = in_bulk(db_url, batch, client(mb))
    assert mb.requests == []
    assert again.musicbrainz_requests == 0 and again.musicbrainz_from_store > 0
    assert_same(expected, got)


def test_an_unreachable_musicbrainz_resolves_as_koito_does_without_it(pg_server, template_db):
    with FakeMusicBrainz() as gone:
        url = gone.url
    batch = records()
    with (
        helpers.fresh_database(pg_server, template_db) as a,
        helpers.fresh_database(pg_server, template_db) as b,
    ):
        expected, _ = in_bulk(a, batch, DisabledMusicBrainz())
        got, result = in_bulk(b, batch, client(url, rate=1.0, max_retries=3))
        with psycopg.connect(b) as conn:
            stored = conn.execute("SELECT count(*) FROM koito_import.musicbrainz_answers")
            assert stored.fetchone() == (0,)  # asked again by a later import
    assert_same(expected, got)
    # said once, then nothing more asked: not one request (with retries) per MBID
    assert "connection failed" in result.musicbrainz_unreachable
    assert result.musicbrainz_requests == 1
