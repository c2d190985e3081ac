"""Subsonic provider against the fake Subsonic server and image host."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from koito_assets.enrich.images.result import AlbumQuery, Outcome, ProviderOutcome
from koito_assets.enrich.images.subsonic import Subsonic
from koito_assets.enrich.images.validate import ImageValidator
from tests.enrich.policies import FAST, FAST_RATE, SLOW_S, TIMING_OUT
from tests.fakes.image_host import FakeImageHost
from tests.fakes.server import Reply
from tests.fakes.subsonic import FakeSubsonic

RELEASE = "5e000000-0000-4000-8000-00000000000a"
NIL = "00000000-0000-0000-0000-000000000000"


def make(fake: FakeSubsonic, images: ImageValidator, auth: str | None = None) -> Subsonic:
    return Subsonic(
        fake.url, auth or FakeSubsonic.auth_params(), images, policy=FAST, rate_per_s=FAST_RATE
    )


@pytest.fixture
def subsonic(fake_subsonic: FakeSubsonic, images: ImageValidator) -> Subsonic:
    return make(fake_subsonic, images)


def cover_id(outcome: ProviderOutcome) -> str:
    return parse_qs(urlsplit(outcome.url or "").query)["id"][0]


def searches(fake: FakeSubsonic) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in r.query.items()} for r in fake.requests_to("/rest/search3")]


def test_album_by_mbid(subsonic: Subsonic, fake_subsonic: FakeSubsonic) -> None:
    fake_subsonic.add_album("al-1", "First Light", "Ada Example", mbid=RELEASE)
    outcome = subsonic.find_album(AlbumQuery("First Light", ("Ada Example",), RELEASE))
    assert outcome.outcome is Outcome.FOUND and cover_id(outcome) == "al-1_cover"
    assert (outcome.url or "").startswith(f"{fake_subsonic.url}/rest/getCoverArt?u=koito&t=")
    (search,) = searches(fake_subsonic)
    assert (search["query"], search["albumCount"], search["artistCount"], search["songCount"]) == (
        RELEASE,
        "10",
        "0",
        "0",
    )
    assert {"u", "t", "s", "v", "c", "f"} <= search.keys()
    assert [r.method for r in fake_subsonic.requests_to("/rest/getCoverArt")] == ["HEAD"]


def test_album_by_title_uses_the_matching_albums_cover(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic
) -> None:
    """Koito returns the first album's cover once any album matches; we return the match's."""
    fake_subsonic.add_album("al-1", "First Light", "Someone Else")
    fake_subsonic.add_album("al-2", "First Light", "Ada Example")
    outcome = subsonic.find_album(AlbumQuery("First Light", ("Ada Example",), NIL))
    assert cover_id(outcome) == "al-2_cover"
    assert [s["query"] for s in searches(fake_subsonic)] == ["First Light"]  # no nil-MBID search


def test_artist_must_match_exactly(subsonic: Subsonic, fake_subsonic: FakeSubsonic) -> None:
    fake_subsonic.add_album("al-1", "First Light", "ada example")
    assert subsonic.find_album(AlbumQuery("First Light", ("Ada Example",))).outcome is Outcome.MISS


def test_mbid_search_falls_back_to_title_on_servers_without_it(
    fake_image_host: FakeImageHost, images: ImageValidator
) -> None:
    with FakeSubsonic(fake_image_host, mbid_search=False) as fake:
        fake.add_album("al-1", "First Light", "Ada Example")
        outcome = make(fake, images).find_album(
            AlbumQuery("First Light", ("Ada Example",), RELEASE)
        )
        assert cover_id(outcome) == "al-1_cover"
        assert [s["query"] for s in searches(fake)] == [RELEASE, "First Light"]


def test_album_listed_with_another_mbid_is_not_taken(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic
) -> None:
    fake_subsonic.script(
        "/rest/search3",
        Reply.json(
            {
                "subsonic-response": {
                    "status": "ok",
                    "version": "1.16.1",
                    "searchResult3": {
                        "album": [
                            {
                                "id": "x",
                                "name": "Other",
                                "artist": "Other",
                                "coverArt": "x_cover",
                                "musicBrainzId": "11111111-1111-4111-8111-111111111111",
                            }
                        ]
                    },
                }
            }
        ),
    )
    assert subsonic.find_album(AlbumQuery("", (), RELEASE)).outcome is Outcome.MISS
    assert fake_subsonic.requests_to("/rest/getCoverArt") == []


def test_cover_art_unknown_to_the_server_is_a_miss(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic
) -> None:
    fake_subsonic.add_album("al-1", "First Light", "Ada Example", cover_art="gone")
    assert subsonic.find_album(AlbumQuery("First Light", ("Ada Example",))).outcome is Outcome.MISS


def test_artist_image(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic, fake_image_host: FakeImageHost
) -> None:
    url = fake_image_host.add_image("/artists/ada.jpg", fmt="JPEG")
    fake_subsonic.add_artist("ar-1", "Ada Example", image_url=url)
    assert subsonic.find_artist(["ada example", "A. Example"]).url == url
    (search,) = searches(fake_subsonic)
    assert (search["query"], search["albumCount"], search["songCount"]) == ("ada example", "0", "0")


@pytest.mark.parametrize("kind", ["missing", "html", "other-name"])
def test_artist_misses(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic, fake_image_host: FakeImageHost, kind: str
) -> None:
    url = {"missing": fake_image_host.missing(), "html": fake_image_host.add_html("/a.html")}.get(
        kind
    )
    fake_subsonic.add_artist(
        "ar-1",
        "Ada Example Tribute" if kind == "other-name" else "Ada Example",
        image_url=url or fake_image_host.add_image("/a.png"),
    )
    assert subsonic.find_artist(["Ada Example"]).outcome is Outcome.MISS


def test_wrong_credentials_disable_the_provider(
    fake_subsonic: FakeSubsonic, images: ImageValidator
) -> None:
    auth = FakeSubsonic.auth_params(password="wrong")
    subsonic = make(fake_subsonic, images, auth)
    assert subsonic.ping() is not None
    first = subsonic.find_artist(["Ada Example"])
    assert first.outcome is Outcome.FAILED and not first.transient and "error 40" in first.reason
    assert (
        subsonic.find_album(AlbumQuery("First Light", ("Ada Example",))).outcome is Outcome.FAILED
    )
    assert len(fake_subsonic.requests) == 2  # the ping and the first search, nothing after
    token = parse_qs(auth)["t"][0]
    assert token not in first.reason


@pytest.mark.parametrize(
    "auth",
    [
        FakeSubsonic.auth_params(),
        f"u=koito&p={FakeSubsonic.PASSWORD}",
        "u=koito&p=enc:733373616d65",
    ],
)
def test_ping_accepts_each_auth_form(
    fake_subsonic: FakeSubsonic, images: ImageValidator, auth: str
) -> None:
    assert make(fake_subsonic, images, auth).ping() is None


def test_busy_then_success(subsonic: Subsonic, fake_subsonic: FakeSubsonic) -> None:
    fake_subsonic.add_album("al-1", "First Light", "Ada Example")
    fake_subsonic.fail_next("/rest/search3", 1, 429)
    assert subsonic.find_album(AlbumQuery("First Light", ("Ada Example",))).outcome is Outcome.FOUND


def test_timeout(fake_subsonic: FakeSubsonic, images: ImageValidator) -> None:
    fake_subsonic.slow_next("/rest/search3", SLOW_S, count=2)
    subsonic = Subsonic(
        fake_subsonic.url,
        FakeSubsonic.auth_params(),
        images,
        policy=TIMING_OUT,
        rate_per_s=FAST_RATE,
    )
    outcome = subsonic.find_artist(["Ada Example"])
    assert outcome.outcome is Outcome.FAILED and outcome.transient and "timed out" in outcome.reason


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("{", content_type="application/json"),
        Reply.json({"subsonic-response": {"version": "1.16.1"}}),
        Reply.json(
            {"subsonic-response": {"status": "ok", "searchResult3": {"album": {"id": "x"}}}}
        ),
    ],
)
def test_malformed_answers_are_failures(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic, reply: Reply
) -> None:
    fake_subsonic.script("/rest/search3", reply)
    outcome = subsonic.find_album(AlbumQuery("First Light", ("Ada Example",)))
    assert outcome.outcome is Outcome.FAILED and "malformed" in outcome.reason


def test_nothing_to_search_with_makes_no_request(
    subsonic: Subsonic, fake_subsonic: FakeSubsonic
) -> None:
    assert subsonic.find_album(AlbumQuery("First Light", (), NIL)).outcome is Outcome.SKIPPED
    assert subsonic.find_artist([]).outcome is Outcome.SKIPPED
    assert fake_subsonic.requests == []
