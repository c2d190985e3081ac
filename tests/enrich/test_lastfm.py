"""Last.fm provider against the fake Last.fm API and image host."""

from __future__ import annotations

import pytest

from koito_assets.enrich.images.lastfm import LastFm
from koito_assets.enrich.images.result import AlbumQuery, Outcome
from koito_assets.enrich.images.validate import ImageValidator
from tests.enrich.policies import FAST, FAST_RATE, SLOW_S, TIMING_OUT
from tests.fakes.image_host import FakeImageHost
from tests.fakes.lastfm import PLACEHOLDER_HASH, FakeLastFm, lastfm_error
from tests.fakes.server import Reply

RELEASE = "5e000000-0000-4000-8000-00000000000a"
ARTIST = "a0000000-0000-4000-8000-000000000001"
NIL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def lastfm(fake_lastfm: FakeLastFm, images: ImageValidator) -> LastFm:
    return LastFm(fake_lastfm.url, FakeLastFm.API_KEY, images, policy=FAST, rate_per_s=FAST_RATE)


def album(mbid: str | None = None) -> AlbumQuery:
    return AlbumQuery("First Light", ("Ada Example",), mbid)


def test_album_hit_by_name_prefers_the_600px_variant(
    lastfm: LastFm, fake_lastfm: FakeLastFm
) -> None:
    fake_lastfm.add_album("Ada Example", "First Light")
    outcome = lastfm.find_album(AlbumQuery("first light", ("ada example",)))
    assert outcome.outcome is Outcome.FOUND and "/i/u/600x600/" in (outcome.url or "")
    (request,) = fake_lastfm.requests
    assert request.path == "/2.0/"
    assert {
        k: request.param(k)
        for k in ("method", "api_key", "format", "autocorrect", "artist", "album")
    } == {
        "method": "album.getInfo",
        "api_key": FakeLastFm.API_KEY,
        "format": "json",
        "autocorrect": "1",
        "artist": "ada example",
        "album": "first light",
    }


def test_without_600px_variant_the_300px_url_is_used(
    lastfm: LastFm, fake_lastfm: FakeLastFm
) -> None:
    fake_lastfm.add_album(
        "Ada Example", "First Light", images=fake_lastfm.image_set("x", with_600=False)
    )
    assert "/i/u/300x300/" in (lastfm.find_album(album()).url or "")


def test_mbid_is_asked_first(lastfm: LastFm, fake_lastfm: FakeLastFm) -> None:
    fake_lastfm.add_album("Ada Example", "First Light", mbid=RELEASE)
    assert lastfm.find_album(album(RELEASE)).outcome is Outcome.FOUND
    (request,) = fake_lastfm.requests
    assert request.param("mbid") == RELEASE and request.param("artist") is None


@pytest.mark.parametrize("status", [200, 400, 404])
def test_unknown_mbid_falls_back_to_names_whatever_the_status(
    fake_lastfm: FakeLastFm, images: ImageValidator, status: int
) -> None:
    fake_lastfm.not_found_status = status
    fake_lastfm.add_album("Ada Example", "First Light")  # Last.fm lacks the MBID mapping
    lastfm = LastFm(fake_lastfm.url, FakeLastFm.API_KEY, images, policy=FAST, rate_per_s=FAST_RATE)
    assert lastfm.find_album(album(RELEASE)).outcome is Outcome.FOUND
    assert [r.param("mbid") for r in fake_lastfm.requests] == [RELEASE, None]


def test_the_nil_mbid_is_never_sent(lastfm: LastFm, fake_lastfm: FakeLastFm) -> None:
    fake_lastfm.add_album("Ada Example", "First Light")
    lastfm.find_album(album(NIL))
    assert (
        all(r.param("mbid") is None for r in fake_lastfm.requests)
        and len(fake_lastfm.requests) == 1
    )


def test_placeholder_star_is_not_an_image(
    lastfm: LastFm, fake_lastfm: FakeLastFm, fake_image_host: FakeImageHost
) -> None:
    fake_lastfm.add_artist("Ada Example")  # Last.fm's usual artist answer: only the star
    outcome = lastfm.find_artist(["Ada Example"])
    assert outcome.outcome is Outcome.MISS
    assert not any(PLACEHOLDER_HASH in r.path for r in fake_image_host.requests)


def test_artist_by_mbid_then_first_name(lastfm: LastFm, fake_lastfm: FakeLastFm) -> None:
    fake_lastfm.add_artist("Ada Example", images=fake_lastfm.image_set("ada"))
    assert lastfm.find_artist(["Ada Example", "A. Example"], mbid=ARTIST).outcome is Outcome.FOUND
    assert [(r.param("mbid"), r.param("artist")) for r in fake_lastfm.requests] == [
        (ARTIST, None),
        (None, "Ada Example"),
    ]


def test_miss(lastfm: LastFm, fake_lastfm: FakeLastFm) -> None:
    assert lastfm.find_album(album()).outcome is Outcome.MISS


def test_empty_image_urls_are_a_miss(lastfm: LastFm, fake_lastfm: FakeLastFm) -> None:
    images = [{"size": s, "#text": ""} for s in ("small", "medium", "large", "extralarge", "mega")]
    fake_lastfm.add_album("Ada Example", "First Light", images=images)
    assert lastfm.find_album(album()).outcome is Outcome.MISS


@pytest.mark.parametrize(
    "busy", [lastfm_error(29, 429), lastfm_error(29, 200), lastfm_error(11, 200), Reply.busy(503)]
)
def test_rate_limited_then_success(lastfm: LastFm, fake_lastfm: FakeLastFm, busy: Reply) -> None:
    fake_lastfm.add_album("Ada Example", "First Light")
    fake_lastfm.script("/2.0/", busy)
    assert lastfm.find_album(album()).outcome is Outcome.FOUND
    assert len(fake_lastfm.requests) == 2


def test_rejected_key_disables_the_provider(
    fake_lastfm: FakeLastFm, images: ImageValidator
) -> None:
    lastfm = LastFm(fake_lastfm.url, "wrong-key", images, policy=FAST, rate_per_s=FAST_RATE)
    first = lastfm.find_album(album(RELEASE))
    assert first.outcome is Outcome.FAILED and not first.transient and "error 10" in first.reason
    assert lastfm.find_album(album()).outcome is Outcome.FAILED
    assert len(fake_lastfm.requests) == 1
    assert "wrong-key" not in first.reason


def test_timeout(fake_lastfm: FakeLastFm, images: ImageValidator) -> None:
    fake_lastfm.slow_next("/2.0/", SLOW_S, count=2)
    lastfm = LastFm(
        fake_lastfm.url, FakeLastFm.API_KEY, images, policy=TIMING_OUT, rate_per_s=FAST_RATE
    )
    outcome = lastfm.find_album(AlbumQuery("First Light", ("Ada Example",)))
    assert outcome.outcome is Outcome.FAILED and outcome.transient and "timed out" in outcome.reason


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("{not json", content_type="application/json"),
        Reply.json({"album": {"name": "First Light", "image": {"size": "mega", "#text": "x"}}}),
        Reply.json({"albums": {}}),
    ],
)
def test_malformed_answers_are_failures(
    lastfm: LastFm, fake_lastfm: FakeLastFm, reply: Reply
) -> None:
    fake_lastfm.script("/2.0/", reply)
    outcome = lastfm.find_album(album())
    assert outcome.outcome is Outcome.FAILED and "malformed" in outcome.reason
    assert FakeLastFm.API_KEY not in outcome.reason


def test_base_url_may_already_name_the_api_version(
    fake_lastfm: FakeLastFm, images: ImageValidator
) -> None:
    fake_lastfm.add_album("Ada Example", "First Light")
    lastfm = LastFm(
        f"{fake_lastfm.url}/2.0", FakeLastFm.API_KEY, images, policy=FAST, rate_per_s=FAST_RATE
    )
    assert lastfm.find_album(album()).outcome is Outcome.FOUND
