"""The overlapping-pair generator tells one known history twice, each time as a service does."""

from __future__ import annotations

import json
import time
import zipfile

import pytest

from benchmarks.overlap import (
    END_OF_PLAYS,
    PAIRS,
    history,
    lastfm_start,
    overlapping_pair,
    write_pair,
)


def test_a_history_has_back_to_back_repeats_and_increasing_starts():
    plays = history(2000, seed=1)
    assert [p.index for p in plays] == list(range(2000))
    assert all(a.end <= b.start for a, b in zip(plays, plays[1:], strict=False))
    pairs = list(zip(plays, plays[1:], strict=False))
    repeats = [(a, b) for a, b in pairs if b.repeat]
    assert len(repeats) > 20
    assert all(b.title == a.title and b.start - a.end <= 1 for a, b in repeats)


@pytest.mark.parametrize("plays", [10, 2000, 49_050])
def test_a_history_of_any_length_ends_in_the_past_at_the_same_moment(plays):
    # A play more than a day ahead is skipped on import: the bench's pairs must never have one.
    history_ = history(plays, seed=1)
    assert history_[-1].end == END_OF_PLAYS < time.time()


@pytest.mark.parametrize("kind", PAIRS)
def test_every_play_is_in_one_source_at_least_and_the_overlap_misses_some(kind):
    pair = overlapping_pair(kind, 3000, seed=2)
    a, b = {p.index for p in pair.a}, {p.index for p in pair.b}
    assert a | b == set(range(3000)) and pair.true_plays == 3000
    overlap_span = set(range(round(3000 * 0.27), round(3000 * 0.73)))
    assert overlap_span - a and overlap_span - b  # each misses a few there
    assert (overlap_span - a).isdisjoint(overlap_span - b)
    assert pair.overlap == len(a & b)
    assert pair.b_case_variant and pair.b_case_variant <= b


def test_the_same_seed_gives_the_same_pair():
    assert overlapping_pair("spotify+lastfm", 500, 4) == overlapping_pair("spotify+lastfm", 500, 4)
    assert overlapping_pair("spotify+lastfm", 500, 4) != overlapping_pair("spotify+lastfm", 500, 5)


def test_each_service_stamps_the_play_its_own_way(tmp_path):
    pair = overlapping_pair("spotify+lastfm", 400, seed=3)
    spotify_path, lastfm_path = write_pair(pair, tmp_path)
    rows = json.loads(spotify_path.read_text())
    assert len(rows) == len(pair.a)
    first = pair.a[0]
    assert rows[0]["ts"] == _iso(first.end) and rows[0]["ms_played"] // 1000 == first.played
    pages = json.loads(lastfm_path.read_text())
    newest = pages[0]["track"][0]
    last = pair.b[-1]
    assert (
        int(newest["date"]["uts"]) == lastfm_start(last)
        and 0 <= lastfm_start(last) - last.start <= 2
    )


def test_listenbrainz_keeps_whoever_recorded_the_play(tmp_path):
    pair = overlapping_pair("listenbrainz+spotify", 3000, seed=3)
    lb_path, _ = write_pair(pair, tmp_path)
    with zipfile.ZipFile(lb_path) as zf:
        listens = [
            json.loads(line)
            for name in zf.namelist()
            if name.startswith("listens/")
            for line in zf.read(name).decode().splitlines()
        ]
    by_client = {}
    for listen in listens:
        client = listen["track_metadata"]["additional_info"]["submission_client"]
        by_client.setdefault(client, 0)
        by_client[client] += 1
    assert set(by_client) == {"ListenBrainz lastfm importer v2", "listenbrainz"}
    assert len(listens) == len(pair.a)


def _iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
