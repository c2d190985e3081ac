"""HttpMusicBrainz against the fake MusicBrainz server: parsing, errors, retries, rate limit."""

from __future__ import annotations

import itertools
import re
import threading
import time
from pathlib import Path

import pytest

from koito_assets.enrich.musicbrainz import (
    DisabledMusicBrainz,
    HttpMusicBrainz,
    MbArtist,
    MbRecording,
    MbRelease,
    MusicBrainzError,
    MusicBrainzNotFound,
    MusicBrainzUnreachable,
    musicbrainz_from_settings,
)
from koito_assets.settings import Settings, SettingsError
from tests.fakes.musicbrainz import FakeMusicBrainz, MbAlias, MbCredit, MbGroupRelease
from tests.fakes.server import Reply

ARTIST = "0a1b2c3d-0000-4000-8000-000000000001"
RELEASE = "5e000000-0000-4000-8000-00000000000a"
GROUP = "9a000000-0000-4000-8000-0000000000aa"
RECORDING = "7c000000-0000-4000-8000-000000000123"
UNKNOWN = "1f000000-0000-4000-8000-000000000999"


def client(fake: FakeMusicBrainz, **overrides: float) -> HttpMusicBrainz:
    """A client tuned for tests: fast rate, short timeout and back-off."""
    options = {"rate_limit_per_s": 200.0, "timeout_s": 0.5, "max_retries": 2, "backoff_s": 0.01}
    options.update(overrides)
    return HttpMusicBrainz(fake.url, **options)  # type: ignore[arg-type]


@pytest.fixture
def mb(fake_musicbrainz: FakeMusicBrainz) -> FakeMusicBrainz:
    fake_musicbrainz.add_artist(
        ARTIST,
        "Kaze no Oto",
        [
            MbAlias("風の音", locale="ja", primary=True),
            MbAlias("Sound of Wind", locale="en", primary=False),
            MbAlias("KnO", locale=None, type="Search hint"),  # primary: null
            MbAlias("Kaze no Oto", locale="en", primary=True),  # repeats the name
        ],
    )
    fake_musicbrainz.add_release(
        RELEASE,
        "First Light",
        [MbCredit("Ada Example", " feat. "), MbCredit("B. Sample", artist_name="Bea Sample")],
        release_group=GROUP,
    )
    fake_musicbrainz.add_release_group(
        GROUP,
        "始まりの光",
        [
            MbGroupRelease("5e000000-0000-4000-8000-00000000000b", "始まりの光", script="Jpan"),
            MbGroupRelease(
                "5e000000-0000-4000-8000-00000000000c", "Hajimari no Hikari", "Pseudo-Release"
            ),
            MbGroupRelease(
                "5e000000-0000-4000-8000-00000000000d", "始まりの光", "Promotion", "Jpan"
            ),
        ],
    )
    fake_musicbrainz.add_recording(RECORDING, "Opening Theme", 215000)
    return fake_musicbrainz


# -- parsing -------------------------------------------------------------------------------
def test_artist_is_name_then_primary_aliases_without_duplicates(mb: FakeMusicBrainz) -> None:
    assert client(mb).artist(ARTIST) == MbArtist("Kaze no Oto", ("Kaze no Oto", "風の音"))
    (request,) = mb.requests
    assert request.path == f"/ws/2/artist/{ARTIST}"
    assert request.param("inc") == "aliases" and request.param("fmt") == "json"
    assert request.headers["accept"] == "application/json"


def test_user_agent_names_this_project_with_a_contact(mb: FakeMusicBrainz) -> None:
    client(mb).recording(RECORDING)
    assert re.fullmatch(
        r"koito-assets/\d+\.\d+\S* \( (https?://|mailto:|\S+@)\S+ \)", mb.requests[0].user_agent
    )


def test_user_agent_carries_the_contact_a_self_hoster_sets(mb: FakeMusicBrainz) -> None:
    settings = Settings.from_env(
        {"KOITO_MUSICBRAINZ_URL": mb.url, "KOITO_USER_AGENT_CONTACT": "me@example.org"}
    )
    musicbrainz_from_settings(settings).recording(RECORDING)
    assert re.fullmatch(r"koito-assets/\S+ \( me@example\.org \)", mb.requests[0].user_agent)


@pytest.mark.parametrize("contact", ["me@example.org\r\nX-Evil: 1", "me (home)", "ünï@example.org"])
def test_a_contact_that_cannot_be_a_header_value_is_refused(contact: str) -> None:
    with pytest.raises(SettingsError, match="KOITO_USER_AGENT_CONTACT"):
        Settings.from_env({"KOITO_USER_AGENT_CONTACT": contact})


def test_release_title_names_as_credited_and_group(mb: FakeMusicBrainz) -> None:
    assert client(mb).release(RELEASE) == MbRelease(
        "First Light", ("Ada Example", "B. Sample"), GROUP
    )
    # requests encodes the space between inc values as '+', which MusicBrainz expects.
    assert "inc=artists+release-groups" in mb.requests[0].raw_query


def test_release_group_titles_are_distinct_in_response_order(mb: FakeMusicBrainz) -> None:
    assert client(mb).release_group_titles(GROUP) == ("始まりの光", "Hajimari no Hikari")
    (request,) = mb.requests
    assert request.path == "/ws/2/release" and request.param("release-group") == GROUP
    assert (request.param("limit"), request.param("offset")) == ("100", "0")


def test_a_group_with_more_releases_than_a_page_is_browsed_to_the_end(
    mb: FakeMusicBrainz,
) -> None:
    releases = [
        MbGroupRelease(f"5e000000-0000-4000-8000-{i:012d}", f"Take {i}") for i in range(150)
    ]
    mb.add_release_group(UNKNOWN, "Big", releases)
    assert client(mb).release_group_titles(UNKNOWN) == tuple(f"Take {i}" for i in range(150))
    assert [r.param("offset") for r in mb.requests] == ["0", "100"]
    # a lookup lists at most 25 of them, which is why the titles come from a browse
    import requests

    listed = requests.get(mb.lookup_url("release-group", UNKNOWN, inc="releases", fmt="json"))
    assert len(listed.json()["releases"]) == 25


def test_recording_length_in_ms_and_unknown_length_is_zero(mb: FakeMusicBrainz) -> None:
    mb.add_recording(UNKNOWN, "No Length", None)
    mbz = client(mb)
    assert mbz.recording(RECORDING) == MbRecording("Opening Theme", 215000)
    assert mbz.recording(UNKNOWN) == MbRecording("No Length", 0)
    assert "inc" not in mb.requests[0].query


def test_release_without_credits_has_no_names(mb: FakeMusicBrainz) -> None:
    mb.add_release(UNKNOWN, "Lonely", [])
    assert client(mb).release(UNKNOWN) == MbRelease("Lonely", ())


# -- answers that are not entities ---------------------------------------------------------
def test_unknown_mbid_is_not_found_without_retry(mb: FakeMusicBrainz) -> None:
    with pytest.raises(MusicBrainzNotFound, match="not found"):
        client(mb).artist(UNKNOWN)
    assert len(mb.requests) == 1


def test_bad_request_is_an_error_without_retry(mb: FakeMusicBrainz) -> None:
    with pytest.raises(MusicBrainzError, match="HTTP 400") as caught:
        client(mb).artist("00000000-0000-4000-8000-000000000400")  # the fake's reserved 400
    assert not isinstance(caught.value, MusicBrainzNotFound)
    assert len(mb.requests) == 1


def test_non_uuid_is_refused_without_a_request(mb: FakeMusicBrainz) -> None:
    with pytest.raises(MusicBrainzError, match="not an MBID"):
        client(mb).artist("../release/whatever")
    assert mb.requests == []


# -- busy servers, retries, timeouts ---------------------------------------------------------
def test_429_with_retry_after_is_waited_out_then_succeeds(mb: FakeMusicBrainz) -> None:
    mb.fail_next("/ws/2/artist/", 1, 429, retry_after=1)
    assert client(mb).artist(ARTIST).name == "Kaze no Oto"
    first, second = mb.requests
    assert second.time - first.time >= 0.95


def test_503_then_success(mb: FakeMusicBrainz) -> None:
    mb.fail_next("/ws/2/recording/", 2, 503)
    assert client(mb).recording(RECORDING).length_ms == 215000
    assert len(mb.requests) == 3


def test_server_errors_are_retried_a_bounded_number_of_times(mb: FakeMusicBrainz) -> None:
    mb.fail_next("/ws/2/release/", 10, 500)
    with pytest.raises(MusicBrainzError, match="busy \\(HTTP 500\\)"):
        client(mb, max_retries=2).release(RELEASE)
    assert len(mb.requests) == 3  # one attempt and two retries


def test_retry_after_beyond_the_budget_fails_at_once(mb: FakeMusicBrainz) -> None:
    mb.fail_next("/ws/2/artist/", 1, 503, retry_after=3600)
    with pytest.raises(MusicBrainzError, match="busy"):
        client(mb).artist(ARTIST)
    assert len(mb.requests) == 1


def test_slow_reply_times_out_and_is_retried(mb: FakeMusicBrainz) -> None:
    mb.slow_next("/ws/2/recording/", 0.5)
    assert client(mb, timeout_s=0.15).recording(RECORDING).title == "Opening Theme"
    assert len(mb.requests) == 2


def test_timeouts_beyond_the_retry_budget_fail(mb: FakeMusicBrainz) -> None:
    mb.slow_next("/ws/2/recording/", 0.5, count=5)
    started = time.monotonic()
    with pytest.raises(MusicBrainzError, match="timed out"):
        client(mb, timeout_s=0.15, max_retries=1).recording(RECORDING)
    assert len(mb.requests) == 2
    assert time.monotonic() - started < 2


def test_unreachable_server_is_an_error(tmp_path: Path) -> None:
    with FakeMusicBrainz() as gone:
        url = gone.url
    mbz = HttpMusicBrainz(url, 200.0, timeout_s=0.5, max_retries=1, backoff_s=0.01)
    with pytest.raises(MusicBrainzError, match="connection failed"):
        mbz.artist(ARTIST)


# -- malformed bodies --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entity", "reply", "message"),
    [
        (
            "artist",
            Reply.text('{"id": "x", "name": "Trunc', content_type="application/json"),
            "not JSON",
        ),
        (
            "artist",
            Reply.text("<html><body>Maintenance</body></html>", content_type="text/html"),
            "not JSON",
        ),
        ("artist", Reply.json({"id": "x", "aliases": []}), "missing 'name'"),
        ("artist", Reply.json({"name": "X", "aliases": {"name": "Y"}}), "'aliases' is not a list"),
        ("artist", Reply.json({"name": "X", "aliases": [{"primary": True}]}), "missing 'name'"),
        ("recording", Reply.json({"title": "T", "length": "215000"}), "'length' is not a duration"),
        ("recording", Reply.json({"title": "T"}), "missing 'length'"),
        ("recording", Reply.json(["not", "an", "object"]), "missing 'title'"),
        (
            "release",
            Reply.json({"title": "T", "artist-credit": [{"joinphrase": ""}]}),
            "missing 'name'",
        ),
    ],
)
def test_malformed_bodies_are_errors(
    mb: FakeMusicBrainz, entity: str, reply: Reply, message: str
) -> None:
    mb.add_raw(entity, UNKNOWN, reply)
    call = {
        "artist": HttpMusicBrainz.artist,
        "recording": HttpMusicBrainz.recording,
        "release": HttpMusicBrainz.release,
        "release-group": HttpMusicBrainz.release_group_titles,
    }[entity]
    with pytest.raises(MusicBrainzError, match=re.escape(message)):
        call(client(mb), UNKNOWN)
    assert len(mb.requests) == 1  # malformed is final: no retry


def test_a_malformed_browse_is_an_error(mb: FakeMusicBrainz) -> None:
    mb.script("/ws/2/release", Reply.json({"release-count": 1, "releases": [{"id": "r"}]}))
    with pytest.raises(MusicBrainzError, match="missing 'title'"):
        client(mb).release_group_titles(GROUP)
    mb.script("/ws/2/release", Reply.json({"releases": []}))
    with pytest.raises(MusicBrainzError, match="missing 'release-count'"):
        client(mb).release_group_titles(GROUP)


# -- rate limit --------------------------------------------------------------------------------
def test_rate_limit_spaces_sequential_calls(mb: FakeMusicBrainz) -> None:
    mbz = client(mb, rate_limit_per_s=10.0)
    for _ in range(5):
        mbz.recording(RECORDING)
    times = [r.time for r in mb.requests]
    assert times[-1] - times[0] >= 0.4 - 0.02
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.1 - 0.02


def test_rate_limit_is_shared_by_threads(mb: FakeMusicBrainz) -> None:
    mb.enforce_rate_limit(0.03)  # 503 for anything closer than 30 ms; unthrottled threads hit ~0 ms
    mbz = client(mb, rate_limit_per_s=10.0, max_retries=0)
    results: list[MbRecording] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(2):
            value = mbz.recording(RECORDING)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and mb.rate_limited == 0
    times = sorted(r.time for r in mb.requests)
    assert times[-1] - times[0] >= 0.7 - 0.02


# -- settings ----------------------------------------------------------------------------------
def test_disabled_musicbrainz_makes_no_request(
    fake_musicbrainz: FakeMusicBrainz, tmp_path: Path
) -> None:
    settings = Settings(
        config_dir=tmp_path, disable_musicbrainz=True, musicbrainz_url=fake_musicbrainz.url
    )
    mbz = musicbrainz_from_settings(settings)
    assert isinstance(mbz, DisabledMusicBrainz)
    for call in (mbz.artist, mbz.release, mbz.release_group_titles, mbz.recording):
        with pytest.raises(MusicBrainzError, match="disabled"):
            call(ARTIST)
    assert fake_musicbrainz.requests == []


def test_enabled_settings_give_an_http_client_on_the_configured_url(
    mb: FakeMusicBrainz, tmp_path: Path
) -> None:
    settings = Settings(config_dir=tmp_path, musicbrainz_url=mb.url, musicbrainz_rate_limit=50.0)
    mbz = musicbrainz_from_settings(settings, timeout_s=0.5)
    assert isinstance(mbz, HttpMusicBrainz)
    assert mbz.recording(RECORDING).title == "Opening Theme"


# -- the fake itself, as other tests rely on its shapes -------------------------------------------
def test_fake_serves_sub_lists_only_when_asked_and_xml_by_default(mb: FakeMusicBrainz) -> None:
    import requests

    base = f"{mb.url}/ws/2"
    bare = requests.get(f"{base}/release/{RELEASE}", params={"fmt": "json"}, timeout=2).json()
    assert "artist-credit" not in bare and bare["text-representation"]["script"] == "Latn"
    for inc in ("releases+artists", "releases%20artists", "releases%2Bartists"):
        body = requests.get(f"{base}/release-group/{GROUP}?inc={inc}&fmt=json", timeout=2).json()
        assert {"releases", "artist-credit"} <= body.keys(), inc
    aliases = requests.get(f"{base}/artist/{ARTIST}?inc=aliases&fmt=json", timeout=2).json()[
        "aliases"
    ]
    assert [a["primary"] for a in aliases] == [True, False, None, True]
    xml = requests.get(f"{base}/artist/{ARTIST}", timeout=2)
    assert (
        xml.headers["Content-Type"].startswith("application/xml")
        and "<name>Kaze no Oto</name>" in xml.text
    )
    bad = requests.get(f"{base}/artist/not-a-uuid", timeout=2)
    assert bad.status_code == 400 and bad.json()["error"] == "Invalid mbid."
    missing = requests.get(f"{base}/artist/{UNKNOWN}?fmt=json", timeout=2)
    assert missing.status_code == 404 and set(missing.json()) == {"error", "help"}


# -- many MBIDs at once: searches by id list -----------------------------------------------------
def test_a_search_answers_each_kind_as_its_lookup_does(mb: FakeMusicBrainz) -> None:
    mb.add_recording(UNKNOWN, "No Length", None)  # search answers leave an unknown length out
    mbz = client(mb)
    for kind, mbid in (
        ("artist", ARTIST),
        ("release", RELEASE),
        ("release-group", GROUP),
        ("recording", RECORDING),
        ("recording", UNKNOWN),
    ):
        looked_up = {
            "artist": mbz.artist,
            "release": mbz.release,
            "release-group": mbz.release_group_titles,
            "recording": mbz.recording,
        }[kind](mbid)
        assert mbz.search(kind, [mbid]) == {mbid: looked_up}, kind
    searches = mb.requests_to("/ws/2/")
    assert {r.param("query") for r in searches if r.param("query")} >= {
        f"arid:({ARTIST})",
        f"reid:({RELEASE})",
        f"rgid:({GROUP})",
        f"rid:({RECORDING})",
    }


def test_one_search_answers_a_hundred_mbids_within_a_short_url(mb: FakeMusicBrainz) -> None:
    ids = [f"7c000000-0000-4000-8000-{i:012d}" for i in range(100)]
    for i, mbid in enumerate(ids):
        mb.add_recording(mbid, f"Song {i}", 1000 * i)
    answers = client(mb).search("recording", [*ids, *ids[:10]])  # repeats are asked once
    assert answers == {mbid: MbRecording(f"Song {i}", 1000 * i) for i, mbid in enumerate(ids)}
    (request,) = mb.requests
    assert request.param("query") == "rid:(" + " OR ".join(ids) + ")"
    assert request.param("limit") == "100" and request.param("fmt") == "json"
    assert len(request.raw_query) < 5000  # MusicBrainz refuses much longer queries (HTTP 414)
    with pytest.raises(ValueError, match="at most 100"):
        client(mb).search("recording", [*ids, UNKNOWN])


def test_a_search_leaves_out_merged_and_unindexed_mbids_which_lookups_answer(
    mb: FakeMusicBrainz,
) -> None:
    merged, fresh = UNKNOWN, "7c000000-0000-4000-8000-000000000124"
    mb.merge("recording", merged, RECORDING)
    mb.add_recording(fresh, "Brand New", 1000, indexed=False)
    mbz = client(mb)
    found = mbz.search("recording", [RECORDING, merged, fresh])
    assert set(found) == {RECORDING}
    # a lookup follows the merge to the surviving recording, and knows the fresh one
    assert mbz.recording(merged) == found[RECORDING]
    assert mbz.recording(fresh) == MbRecording("Brand New", 1000)
    assert [r.path for r in mb.requests[-3:]] == [
        f"/ws/2/recording/{merged}",
        f"/ws/2/recording/{RECORDING}",  # the 301 followed
        f"/ws/2/recording/{fresh}",
    ]


def test_search_pages_are_followed_when_the_server_sends_fewer_than_asked(
    mb: FakeMusicBrainz,
) -> None:
    mb.search_page_cap = 25  # a mirror configured with smaller pages than musicbrainz.org
    ids = [f"0a1b2c3d-0000-4000-8000-{i:012d}" for i in range(60)]
    for mbid in ids:
        mb.add_artist(mbid, f"Artist {mbid[-3:]}")
    assert set(client(mb).search("artist", ids)) == set(ids)
    assert [r.param("offset") for r in mb.requests] == ["0", "25", "50"]


def test_a_search_item_that_cannot_be_read_is_left_out(mb: FakeMusicBrainz) -> None:
    mb.script(
        "/ws/2/recording",
        Reply.json(
            {
                "count": 2,
                "offset": 0,
                "recordings": [
                    {"id": RECORDING, "title": "Opening Theme", "length": "long"},
                    {"id": UNKNOWN, "title": "Fine", "length": 1000},
                ],
            }
        ),
    )
    assert client(mb).search("recording", [RECORDING, UNKNOWN]) == {
        UNKNOWN: MbRecording("Fine", 1000)
    }


@pytest.mark.parametrize(
    "reply",
    [
        Reply.busy(503),
        Reply.text("<html>Search is down</html>", content_type="text/html"),
        Reply.json({"count": 1, "offset": 0}),  # no list
    ],
)
def test_a_failed_search_is_an_error(mb: FakeMusicBrainz, reply: Reply) -> None:
    mb.script("/ws/2/artist", *[reply] * 5)
    with pytest.raises(MusicBrainzError) as caught:
        client(mb, max_retries=1).search("artist", [ARTIST])
    assert not isinstance(caught.value, (MusicBrainzNotFound, MusicBrainzUnreachable))


def test_a_server_that_refuses_connections_is_unreachable_after_one_retry() -> None:
    with FakeMusicBrainz() as gone:
        url = gone.url
    mbz = HttpMusicBrainz(url, 200.0, timeout_s=0.5, max_retries=5, backoff_s=0.01)
    started = time.monotonic()
    with pytest.raises(MusicBrainzUnreachable) as caught:
        mbz.search("artist", [ARTIST])
    assert caught.value.network == "connect"
    assert time.monotonic() - started < 1  # not five retries with back-off
    assert mbz.requests_sent == 1


def test_the_fake_counts_requests_by_kind(mb: FakeMusicBrainz) -> None:
    mbz = client(mb)
    mbz.artist(ARTIST)
    mbz.search("artist", [ARTIST])
    mbz.release_group_titles(GROUP)
    mbz.recording(RECORDING)
    assert mb.request_counts() == {"lookup": 2, "search": 1, "browse": 1}
    assert mbz.requests_sent == 4


def test_searches_are_as_polite_as_lookups(mb: FakeMusicBrainz) -> None:
    settings = Settings.from_env(
        {
            "KOITO_MUSICBRAINZ_URL": mb.url,
            "KOITO_MUSICBRAINZ_RATE_LIMIT": "5",
            "KOITO_USER_AGENT_CONTACT": "me@example.org",
        }
    )
    mbz = musicbrainz_from_settings(settings, backoff_s=0.01)
    mb.fail_next("/ws/2/artist", 1, 429, retry_after=1)
    assert set(mbz.search("artist", [ARTIST])) == {ARTIST}  # type: ignore[attr-defined]
    mbz.search("recording", [RECORDING])  # type: ignore[attr-defined]
    first, second, third = mb.requests
    assert second.time - first.time >= 0.95  # Retry-After waited out
    assert third.time - second.time >= 0.2 - 0.02  # 5 requests/s
    assert all(
        re.fullmatch(r"koito-assets/\S+ \( me@example\.org \)", r.user_agent) for r in mb.requests
    )
