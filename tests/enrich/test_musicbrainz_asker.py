"""MusicBrainzAsker against the fake MusicBrainz and a real PostgreSQL: batches, the answer
store and its expiry, lookups for what a batch leaves, failing searches, unreachable servers."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import psycopg
import psycopg_pool
import pytest

from koito_assets.enrich.musicbrainz import (
    HttpMusicBrainz,
    MbArtist,
    MbRecording,
    MusicBrainzError,
    MusicBrainzNotFound,
    MusicBrainzUnreachable,
)
from koito_assets.enrich.musicbrainz_asker import MusicBrainzAsker
from koito_assets.enrich.musicbrainz_store import AnswerStore
from tests.catalog.helpers import pool_for
from tests.fakes.musicbrainz import FakeMusicBrainz, MbAlias

ARTISTS = [f"0a1b2c3d-0000-4000-8000-{i:012d}" for i in range(3)]
RECORDINGS = [f"7c000000-0000-4000-8000-{i:012d}" for i in range(250)]
MISSING = "1f000000-0000-4000-8000-000000000999"  # 404


def client(fake: FakeMusicBrainz, **overrides: float) -> HttpMusicBrainz:
    options = {"rate_limit_per_s": 500.0, "timeout_s": 1.0, "max_retries": 0, "backoff_s": 0.01}
    options.update(overrides)
    return HttpMusicBrainz(fake.url, **options)  # type: ignore[arg-type]


@pytest.fixture
def mb(fake_musicbrainz: FakeMusicBrainz) -> FakeMusicBrainz:
    for i, mbid in enumerate(ARTISTS):
        fake_musicbrainz.add_artist(
            mbid, f"Artist {i}", [MbAlias(f"アーティスト{i}", locale="ja", primary=True)]
        )
    for i, mbid in enumerate(RECORDINGS):
        fake_musicbrainz.add_recording(mbid, f"Song {i}", 1000 * i or None)
    return fake_musicbrainz


@pytest.fixture
def pool(db_url: str) -> Iterator[psycopg_pool.ConnectionPool]:
    with pool_for(db_url) as opened:
        yield opened


QUESTIONS = [("artist", m) for m in ARTISTS] + [("recording", m) for m in RECORDINGS]


def expected(kind: str, mbid: str) -> object:
    if kind == "artist":
        i = ARTISTS.index(mbid)
        return MbArtist(f"Artist {i}", (f"Artist {i}", f"アーティスト{i}"))
    i = RECORDINGS.index(mbid)
    return MbRecording(f"Song {i}", 1000 * i)


def answers(asker: MusicBrainzAsker) -> dict:
    calls = {"artist": asker.artist, "recording": asker.recording}
    return {(kind, mbid): calls[kind](mbid) for kind, mbid in QUESTIONS}


def test_many_mbids_take_a_request_per_hundred(mb, pool) -> None:
    asker = MusicBrainzAsker(client(mb), AnswerStore(pool, 30), workers=2)
    asker.fetch(QUESTIONS)
    assert mb.request_counts() == {"search": 4}  # 1 for the artists, 3 for 250 recordings
    assert answers(asker) == {q: expected(*q) for q in QUESTIONS}
    assert asker.stats.requests == 4 and asker.stats.lookups == 0
    assert len(mb.requests) == 4  # reading the answers asked nothing more


def test_stored_answers_and_not_founds_are_not_asked_again(mb, pool) -> None:
    first = MusicBrainzAsker(client(mb), AnswerStore(pool, 30))
    first.fetch([*QUESTIONS, ("artist", MISSING)])
    assert mb.request_counts() == {"search": 4, "lookup": 1}  # the 404 is asked by lookup
    mb.clear_log()
    again = MusicBrainzAsker(client(mb), AnswerStore(pool, 30))
    again.fetch([*QUESTIONS, ("artist", MISSING)])
    assert mb.requests == []
    assert again.stats.from_store == len(QUESTIONS) + 1 and again.stats.requests == 0
    assert answers(again) == {q: expected(*q) for q in QUESTIONS}
    with pytest.raises(MusicBrainzNotFound):
        again.artist(MISSING)


def _age(url: str, days: float) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE koito_import.musicbrainz_answers "
            "SET fetched_at = fetched_at - make_interval(secs => %s)",
            (days * 86400,),
        )


def test_answers_expire_after_the_cache_days_and_not_founds_after_one(mb, pool, db_url) -> None:
    questions = [("artist", ARTISTS[0]), ("artist", MISSING)]
    MusicBrainzAsker(client(mb), AnswerStore(pool, 30)).fetch(questions)
    _age(db_url, 2)
    mb.clear_log()
    MusicBrainzAsker(client(mb), AnswerStore(pool, 30)).fetch(questions)
    # only the not-found is asked again: searched, then looked up
    assert [(r.path, r.param("query")) for r in mb.requests] == [
        ("/ws/2/artist", f"arid:({MISSING})"),
        (f"/ws/2/artist/{MISSING}", None),
    ]
    _age(db_url, 29.5)  # the answer is now 31.5 days old, the not-found 29.5
    mb.clear_log()
    asker = MusicBrainzAsker(client(mb), AnswerStore(pool, 30))
    asker.fetch(questions)
    assert mb.request_counts() == {"search": 1, "lookup": 1}
    assert asker.stats.from_store == 0
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM koito_import.musicbrainz_answers "
            "WHERE fetched_at > now() - interval '1 minute'"
        ).fetchone() == (2,)
    assert AnswerStore(pool, 30).prune() == 0
    _age(db_url, 40)
    assert AnswerStore(pool, 30).prune() == 2


def test_a_killed_import_asks_nothing_twice(mb, pool) -> None:
    class Killed(Exception):
        pass

    def kill_after_two(done: int, planned: int) -> None:
        if done == 2:
            raise Killed

    with pytest.raises(Killed):
        MusicBrainzAsker(
            client(mb), AnswerStore(pool, 30), workers=1, progress=kill_after_two
        ).fetch(QUESTIONS)
    asked = {r.param("query") for r in mb.requests}
    assert len(asked) == 2
    mb.clear_log()
    again = MusicBrainzAsker(client(mb), AnswerStore(pool, 30), workers=1)
    again.fetch(QUESTIONS)
    assert len(mb.requests) == 2 and not asked & {r.param("query") for r in mb.requests}
    assert answers(again) == {q: expected(*q) for q in QUESTIONS}


def test_a_search_that_fails_falls_back_to_lookups_then_search_is_given_up(mb, pool) -> None:
    mb.fail_searches(503)
    asker = MusicBrainzAsker(client(mb), AnswerStore(pool, 30), workers=1)
    asker.fetch(QUESTIONS)
    # two failed searches, then every MBID by lookup: the third and fourth batch never searched
    assert mb.request_counts() == {"search": 2, "lookup": len(QUESTIONS)}
    assert asker.stats.searches_failed == 2 and asker.stats.lookups == len(QUESTIONS)
    assert answers(asker) == {q: expected(*q) for q in QUESTIONS}


def test_merged_and_unindexed_mbids_are_looked_up(mb, pool) -> None:
    merged, fresh = MISSING, "7c000000-0000-4000-8000-100000000000"
    mb.merge("recording", merged, RECORDINGS[1])
    mb.add_recording(fresh, "Brand New", 1000, indexed=False)
    asker = MusicBrainzAsker(client(mb), AnswerStore(pool, 30))
    asker.fetch([("recording", RECORDINGS[0]), ("recording", merged), ("recording", fresh)])
    assert mb.request_counts() == {"search": 1, "lookup": 3}  # the merged one is redirected
    assert asker.stats.lookups == 2
    assert asker.recording(merged) == MbRecording("Song 1", 1000)
    assert asker.recording(fresh) == MbRecording("Brand New", 1000)


def test_a_question_no_plan_foresaw_is_looked_up_once_and_stored(mb, pool) -> None:
    asker = MusicBrainzAsker(client(mb), AnswerStore(pool, 30))
    assert asker.recording(RECORDINGS[3]) == MbRecording("Song 3", 3000)
    assert asker.recording(RECORDINGS[3]) == MbRecording("Song 3", 3000)
    assert [r.path for r in mb.requests] == [f"/ws/2/recording/{RECORDINGS[3]}"]
    later = MusicBrainzAsker(client(mb), AnswerStore(pool, 30))
    assert later.recording(RECORDINGS[3]) == MbRecording("Song 3", 3000)
    assert len(mb.requests) == 1 and later.stats.from_store == 1


def test_an_unreachable_server_is_given_up_at_once_and_nothing_is_stored(
    pool, db_url, caplog
) -> None:
    with FakeMusicBrainz() as gone:
        url = gone.url
    gone_client = HttpMusicBrainz(url, 1.0, timeout_s=1.0, max_retries=3, backoff_s=0.05)
    asker = MusicBrainzAsker(gone_client, AnswerStore(pool, 30), workers=4)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        asker.fetch(QUESTIONS)
        with pytest.raises(MusicBrainzUnreachable):
            asker.artist(ARTISTS[0])
        with pytest.raises(MusicBrainzError):
            asker.recording("7c000000-0000-4000-8000-200000000000")  # never planned: not asked
    # at 1 request a second, the first refused connection ends it: no request per MBID
    assert time.monotonic() - started < 3
    assert asker.stats.requests <= 2 and asker.stats.unreachable
    warnings = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(warnings) == 1
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM koito_import.musicbrainz_answers").fetchone() == (
            0,
        )


def test_timeouts_in_a_row_mean_unreachable(mb, pool) -> None:
    mb.latency_s = 0.5
    slow = client(mb, timeout_s=0.1, max_retries=3)
    asker = MusicBrainzAsker(slow, AnswerStore(pool, 30), workers=1)
    started = time.monotonic()
    asker.fetch(QUESTIONS)
    assert asker.stats.unreachable and "timed out" in asker.stats.unreachable
    # each request: one attempt and one retry; two requests in a row timed out, then nothing
    assert asker.stats.requests == 2 and len(mb.requests) == 4
    assert time.monotonic() - started < 2
    with pytest.raises(MusicBrainzUnreachable):
        asker.recording(RECORDINGS[0])
