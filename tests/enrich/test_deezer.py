"""Deezer provider against the fake Deezer search API and image host."""

from __future__ import annotations

import pytest

from koito_assets.enrich.images.deezer import Deezer
from koito_assets.enrich.images.result import AlbumQuery, Outcome
from koito_assets.enrich.images.validate import ImageValidator
from tests.enrich.policies import FAST, FAST_RATE, SLOW_S, TIMING_OUT
from tests.fakes.deezer import FakeDeezer, deezer_error
from tests.fakes.image_host import FakeImageHost
from tests.fakes.server import Reply


@pytest.fixture
def deezer(fake_deezer: FakeDeezer, images: ImageValidator) -> Deezer:
    return Deezer(fake_deezer.url, images, policy=FAST, rate_per_s=FAST_RATE)


def queries(fake: FakeDeezer) -> list[str | None]:
    return [r.param("q") for r in fake.requests]


# -- artists -------------------------------------------------------------------------------------
def test_artist_hit_picks_the_exact_name_among_near_misses(
    deezer: Deezer, fake_deezer: FakeDeezer
) -> None:
    fake_deezer.add_artist("Ada Example Band")
    picture = fake_deezer.add_artist("Ada Example")
    outcome = deezer.find_artist(["ada example"])
    assert outcome.outcome is Outcome.FOUND and outcome.url == picture
    assert queries(fake_deezer) == ['artist:"ada example"']


def test_ascii_aliases_are_tried_first(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    picture = fake_deezer.add_artist("Kaze no Oto")
    assert deezer.find_artist(["風の音", "Kaze no Oto"]).url == picture
    assert queries(fake_deezer) == ['artist:"Kaze no Oto"']


def test_an_alias_without_results_does_not_end_the_search(
    deezer: Deezer, fake_deezer: FakeDeezer
) -> None:
    """Koito gives up at the first alias whose result list is empty; we try the next one."""
    picture = fake_deezer.add_artist("Ada Example")
    assert deezer.find_artist(["Nobody Knows This Alias", "Ada Example"]).url == picture
    assert len(fake_deezer.requests) == 2


def test_artist_miss(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    fake_deezer.add_artist("Ada Example Band")
    outcome = deezer.find_artist(["Ada Example"])
    assert outcome.outcome is Outcome.MISS


def test_placeholder_picture_is_not_an_image(
    deezer: Deezer, fake_deezer: FakeDeezer, fake_image_host: FakeImageHost
) -> None:
    placeholder = fake_deezer.add_artist("Faceless", placeholder=True)
    assert "/images/artist//" in placeholder
    assert deezer.find_artist(["Faceless"]).outcome is Outcome.MISS
    assert fake_image_host.requests == []  # not even checked


def test_no_names_means_no_request(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    assert deezer.find_artist(["", "  "]).outcome is Outcome.SKIPPED
    assert fake_deezer.requests == []


def test_picture_that_is_not_an_image_is_skipped(
    deezer: Deezer, fake_deezer: FakeDeezer, fake_image_host: FakeImageHost
) -> None:
    fake_deezer.add_artist(
        "Ada Example", picture_xl=fake_image_host.add_html("/images/artist/abc/x.jpg")
    )
    assert deezer.find_artist(["Ada Example"]).outcome is Outcome.MISS


# -- albums --------------------------------------------------------------------------------------
def test_album_hit_with_artist_and_title(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    cover = fake_deezer.add_album("First Light", "Ada Example")
    outcome = deezer.find_album(AlbumQuery("first light", ("Ada Example",)))
    assert outcome.url == cover
    assert queries(fake_deezer) == ['artist:"Ada Example" album:"first light"']


def test_album_falls_back_to_the_title_alone(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    cover = fake_deezer.add_album("First Light", "Ada Example")
    fake_deezer.script("/search/album", Reply.json({"data": [], "total": 0}))
    assert deezer.find_album(AlbumQuery("First Light", ("Ada Example",))).url == cover
    assert queries(fake_deezer) == [
        'artist:"Ada Example" album:"First Light"',
        'album:"First Light"',
    ]


def test_album_of_another_artist_with_the_same_title_is_a_miss(
    deezer: Deezer, fake_deezer: FakeDeezer
) -> None:
    fake_deezer.add_album("Greatest Hits", "Somebody Else")
    assert deezer.find_album(AlbumQuery("Greatest Hits", ("Ada Example",))).outcome is Outcome.MISS


def test_quotes_in_names_do_not_break_the_query(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    deezer.find_album(AlbumQuery('The "Best" Of', ('DJ "Ex"',)))
    assert queries(fake_deezer)[0] == 'artist:"DJ  Ex" album:"The  Best  Of"'


# -- busy, errors, malformed ---------------------------------------------------------------------
@pytest.mark.parametrize("busy", [deezer_error(4), deezer_error(700), Reply.busy(429)])
def test_quota_or_busy_then_success(deezer: Deezer, fake_deezer: FakeDeezer, busy: Reply) -> None:
    picture = fake_deezer.add_artist("Ada Example")
    fake_deezer.script("/search/artist", busy)
    assert deezer.find_artist(["Ada Example"]).url == picture
    assert len(fake_deezer.requests) == 2


def test_quota_that_never_clears_is_a_transient_failure(
    deezer: Deezer, fake_deezer: FakeDeezer
) -> None:
    fake_deezer.script("/search/artist", *[deezer_error(4)] * 3)
    outcome = deezer.find_artist(["Ada Example"])
    assert outcome.outcome is Outcome.FAILED and outcome.transient
    assert len(fake_deezer.requests) == FAST.max_retries + 1


def test_data_not_found_error_is_a_miss(deezer: Deezer, fake_deezer: FakeDeezer) -> None:
    fake_deezer.script("/search/artist", deezer_error(800))
    assert deezer.find_artist(["Ada Example"]).outcome is Outcome.MISS


def test_timeout(fake_deezer: FakeDeezer, images: ImageValidator) -> None:
    fake_deezer.slow_next("/search/", SLOW_S, count=2)
    deezer = Deezer(fake_deezer.url, images, policy=TIMING_OUT, rate_per_s=FAST_RATE)
    outcome = deezer.find_artist(["Ada Example"])
    assert outcome.outcome is Outcome.FAILED and outcome.transient and "timed out" in outcome.reason


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        (Reply.text('{"data": [', content_type="application/json"), False),
        (Reply.json({"data": {"name": "Ada Example"}, "total": 1}), False),
        (Reply.text("<html>Bad Gateway</html>", 502, "text/html"), True),
    ],
)
def test_malformed_answers_are_failures(
    deezer: Deezer, fake_deezer: FakeDeezer, reply: Reply, transient: bool
) -> None:
    fake_deezer.script("/search/artist", *[reply] * 3)
    outcome = deezer.find_artist(["Ada Example"])
    assert outcome.outcome is Outcome.FAILED and outcome.transient is transient


def test_own_rate_limit_is_five_per_second(fake_deezer: FakeDeezer, images: ImageValidator) -> None:
    """7 searches at Koito's 5 req/s, burst 5, need >= 0.4 s (the burst is tested in test_http)."""
    deezer = Deezer(fake_deezer.url, images, policy=FAST)  # the default rate
    for _ in range(7):
        deezer.find_artist(["Nobody"])
    times = [r.time for r in fake_deezer.requests]
    assert times[6] - times[0] >= 0.4 - 0.03
