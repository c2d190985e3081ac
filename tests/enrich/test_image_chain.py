"""Koito's provider order, per-provider outcomes, settings, and use from several threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from koito_assets.enrich.images import ChainResult, ImageFinder, Outcome, image_finder_from_settings
from koito_assets.enrich.images.result import AlbumQuery, ProviderOutcome
from koito_assets.settings import Settings
from tests.enrich.policies import FAST
from tests.fakes.cover_art_archive import FakeCoverArtArchive
from tests.fakes.deezer import FakeDeezer
from tests.fakes.lastfm import FakeLastFm
from tests.fakes.subsonic import FakeSubsonic

RELEASE = "5e000000-0000-4000-8000-00000000000a"


@pytest.fixture
def everything(
    tmp_path: Path,
    fake_subsonic: FakeSubsonic,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_lastfm: FakeLastFm,
    fake_deezer: FakeDeezer,
) -> Settings:
    """Settings that enable all four providers, each on its fake."""
    return Settings(
        config_dir=tmp_path,
        subsonic_url=fake_subsonic.url,
        subsonic_params=FakeSubsonic.auth_params(),
        cover_art_archive_url=fake_cover_art_archive.url,
        lastfm_api_key=FakeLastFm.API_KEY,
        lastfm_url=fake_lastfm.url,
        deezer_url=fake_deezer.url,
    )


def providers(result: ChainResult) -> list[tuple[str, Outcome]]:
    return [(o.provider, o.outcome) for o in result.outcomes]


def test_settings_give_koitos_order(everything: Settings) -> None:
    finder = image_finder_from_settings(everything, policy=FAST)
    assert [p.name for p in finder.artist_providers] == ["subsonic", "deezer", "lastfm"]
    assert [p.name for p in finder.album_providers] == [
        "subsonic",
        "coverartarchive",
        "lastfm",
        "deezer",
    ]


def test_subsonic_hit_means_nobody_else_is_asked(
    everything: Settings,
    fake_subsonic: FakeSubsonic,
    fake_deezer: FakeDeezer,
    fake_lastfm: FakeLastFm,
    fake_image_host,
) -> None:
    url = fake_image_host.add_image("/artists/ada.png")
    fake_subsonic.add_artist("ar-1", "Ada Example", image_url=url)
    fake_deezer.add_artist("Ada Example")
    result = image_finder_from_settings(everything, policy=FAST).find_artist_image(["Ada Example"])
    assert (result.url, result.provider) == (url, "subsonic")
    assert providers(result) == [("subsonic", Outcome.FOUND)]
    assert fake_deezer.requests == [] and fake_lastfm.requests == []


def test_artist_chain_falls_through_to_deezer(
    everything: Settings, fake_deezer: FakeDeezer, fake_lastfm: FakeLastFm
) -> None:
    picture = fake_deezer.add_artist("Ada Example")
    result = image_finder_from_settings(everything, policy=FAST).find_artist_image(["Ada Example"])
    assert result.url == picture
    assert providers(result) == [("subsonic", Outcome.MISS), ("deezer", Outcome.FOUND)]
    assert fake_lastfm.requests == []


def test_album_chain_caa_after_subsonic_and_before_the_rest(
    everything: Settings,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_lastfm: FakeLastFm,
    fake_deezer: FakeDeezer,
) -> None:
    fake_cover_art_archive.add_release_art(RELEASE)
    result = image_finder_from_settings(everything, policy=FAST).find_album_image(
        "First Light", ["Ada Example"], RELEASE
    )
    assert result.provider == "coverartarchive"
    assert providers(result) == [("subsonic", Outcome.MISS), ("coverartarchive", Outcome.FOUND)]
    assert fake_lastfm.requests == [] and fake_deezer.requests == []


def test_album_chain_asks_everyone_in_order_when_nobody_has_it(
    everything: Settings,
    fake_subsonic: FakeSubsonic,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_lastfm: FakeLastFm,
    fake_deezer: FakeDeezer,
) -> None:
    result = image_finder_from_settings(everything, policy=FAST).find_album_image(
        "First Light", ["Ada Example"], RELEASE
    )
    assert result.url is None and result.provider is None and not result.failed
    assert providers(result) == [
        ("subsonic", Outcome.MISS),
        ("coverartarchive", Outcome.MISS),
        ("lastfm", Outcome.MISS),
        ("deezer", Outcome.MISS),
    ]
    first_requests = [
        f.requests[0].time
        for f in (fake_subsonic, fake_cover_art_archive, fake_lastfm, fake_deezer)
    ]
    assert first_requests == sorted(first_requests)


def test_a_failing_provider_is_recorded_and_the_next_one_asked(
    everything: Settings, fake_subsonic: FakeSubsonic, fake_deezer: FakeDeezer
) -> None:
    fake_subsonic.fail_next("/rest/", 3, 503)
    picture = fake_deezer.add_artist("Ada Example")
    result = image_finder_from_settings(everything, policy=FAST).find_artist_image(["Ada Example"])
    assert result.url == picture and result.failed and result.transient
    assert result.outcomes[0].outcome is Outcome.FAILED and "503" in result.outcomes[0].reason


def test_disabled_providers_make_no_requests(
    tmp_path: Path,
    fake_subsonic: FakeSubsonic,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_lastfm: FakeLastFm,
    fake_deezer: FakeDeezer,
    fake_image_host,
) -> None:
    settings = Settings(
        config_dir=tmp_path,
        subsonic_url=fake_subsonic.url,  # without KOITO_SUBSONIC_PARAMS: off
        disable_cover_art_archive=True,
        cover_art_archive_url=fake_cover_art_archive.url,
        lastfm_url=fake_lastfm.url,  # without KOITO_LASTFM_API_KEY: off
        disable_deezer=True,
        deezer_url=fake_deezer.url,
    )
    finder = image_finder_from_settings(settings, policy=FAST)
    assert finder.find_artist_image(["Ada Example"]) == ChainResult(None, None, ())
    assert finder.find_album_image("First Light", ["Ada Example"], RELEASE) == ChainResult(
        None, None, ()
    )
    for fake in (fake_subsonic, fake_cover_art_archive, fake_lastfm, fake_deezer, fake_image_host):
        assert fake.requests == []


class Stub:
    """A provider that answers from a function and counts concurrent calls."""

    def __init__(self, name: str, answer) -> None:
        self.name = name
        self.answer = answer
        self.active = 0
        self.most_active = 0
        self.calls = 0
        self._lock = threading.Lock()

    def _call(self) -> ProviderOutcome:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            return self.answer(self.name)
        finally:
            with self._lock:
                self.active -= 1

    def find_artist(self, names: Sequence[str], mbid: str | None = None) -> ProviderOutcome:
        return self._call()

    def find_album(self, query: AlbumQuery) -> ProviderOutcome:
        return self._call()


def test_a_provider_that_raises_costs_one_failed_outcome() -> None:
    def boom(name: str) -> ProviderOutcome:
        raise KeyError("surprise")

    after = Stub("after", lambda name: ProviderOutcome.found(name, "http://img.example/a.png"))
    result = ImageFinder([Stub("broken", boom), after], []).find_artist_image(["Ada"])
    assert result.provider == "after"
    assert result.outcomes[0] == ProviderOutcome.failed("broken", "broken: KeyError")


def test_concurrency_is_bounded() -> None:
    def slow_miss(name: str) -> ProviderOutcome:
        time.sleep(0.05)
        return ProviderOutcome.miss(name, "nothing")

    stub = Stub("slow", slow_miss)
    finder = ImageFinder([stub], [stub], max_concurrency=2)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: finder.find_album_image(f"Album {i}", ["A"]), range(8)))
    assert stub.calls == 8 and stub.most_active == 2


def test_many_threads_share_one_finder_and_its_rate_limits(
    tmp_path: Path, fake_cover_art_archive: FakeCoverArtArchive, fake_deezer: FakeDeezer
) -> None:
    settings = Settings(
        config_dir=tmp_path,
        cover_art_archive_url=fake_cover_art_archive.url,
        deezer_url=fake_deezer.url,
    )
    mbids = [f"5e000000-0000-4000-8000-{i:012d}" for i in range(8)]
    for mbid in mbids[::2]:
        fake_cover_art_archive.add_release_art(mbid)
    for i in range(1, 8, 2):
        fake_deezer.add_album(f"Album {i}", "Ada Example")
    finder = image_finder_from_settings(settings, policy=FAST, max_concurrency=4)
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda i: finder.find_album_image(f"Album {i}", ["Ada Example"], mbids[i]), range(8)
            )
        )
    assert [r.provider for r in results] == ["coverartarchive", "deezer"] * 4
    # CAA: 8 HEADs at 5/s after a burst of 5 take at least 0.6 s, whatever the thread count.
    times = sorted(r.time for r in fake_cover_art_archive.requests)
    assert len(times) == 8 and times[-1] - times[0] >= 0.6 - 0.03


def test_every_provider_and_the_image_host_send_the_configured_contact(
    everything: Settings,
    fake_subsonic: FakeSubsonic,
    fake_cover_art_archive,
    fake_lastfm,
    fake_deezer: FakeDeezer,
) -> None:
    from dataclasses import replace

    settings = replace(everything, user_agent_contact="me@example.org")
    fake_deezer.add_artist("Ada Example")
    finder = image_finder_from_settings(settings, policy=FAST)
    finder.find_album_image(
        "Nobody Has It", ["Ada Example"], release_mbid="00000000-0000-4000-8000-000000000001"
    )
    finder.find_artist_image(["Ada Example"])
    sent = [
        r.user_agent
        for fake in (fake_subsonic, fake_cover_art_archive, fake_lastfm, fake_deezer)
        for r in fake.requests
    ]
    sent += [r.user_agent for r in fake_deezer.image_host.requests]
    assert sent and all(ua.endswith("( me@example.org )") for ua in sent), sent
