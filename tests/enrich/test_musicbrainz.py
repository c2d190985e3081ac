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


def test_release_title_and_names_as_credited(mb: FakeMusicBrainz) -> None:
    assert client(mb).release(RELEASE) == MbRelease("First Light", ("Ada Example", "B. Sample"))
    assert mb.requests[0].raw_query.count("inc=artists") == 1


def test_release_group_titles_are_distinct_in_response_order(mb: FakeMusicBrainz) -> None:
    assert client(mb).release_group_titles(GROUP) == ("始まりの光", "Hajimari no Hikari")
    # requests encodes the space between inc values as '+', which MusicBrainz expects.
    assert "inc=releases+artists" in mb.requests[0].raw_query


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
        ("release-group", Reply.json({"title": "G", "releases": [{"id": "r"}]}), "missing 'title'"),
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
