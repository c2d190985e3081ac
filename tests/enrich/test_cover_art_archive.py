"""Cover Art Archive provider against the fake CAA and image host."""

from __future__ import annotations

import pytest

from koito_assets.enrich.images.cover_art_archive import CoverArtArchive
from koito_assets.enrich.images.result import AlbumQuery, Outcome
from tests.enrich.policies import FAST, FAST_RATE, SLOW_S, TIMING_OUT
from tests.fakes.cover_art_archive import FakeCoverArtArchive
from tests.fakes.image_host import FakeImageHost

RELEASE = "5e000000-0000-4000-8000-00000000000a"
GROUP = "9a000000-0000-4000-8000-0000000000aa"
NIL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def caa(fake_cover_art_archive: FakeCoverArtArchive) -> CoverArtArchive:
    return CoverArtArchive(fake_cover_art_archive.url, policy=FAST, rate_per_s=FAST_RATE)


def query(release: str | None = RELEASE, group: str | None = None) -> AlbumQuery:
    return AlbumQuery("First Light", ("Ada Example",), release, group)


def test_hit_stores_the_caa_url_after_following_the_redirect(
    caa: CoverArtArchive,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_image_host: FakeImageHost,
) -> None:
    fake_cover_art_archive.add_release_art(RELEASE)
    outcome = caa.find_album(query())
    assert outcome.outcome is Outcome.FOUND
    assert outcome.url == f"{fake_cover_art_archive.url}/release/{RELEASE}/front"
    assert [r.method for r in fake_cover_art_archive.requests] == ["HEAD"]
    assert [r.method for r in fake_image_host.requests] == ["HEAD"]  # the redirect was followed


def test_release_group_is_asked_when_the_release_has_no_art(
    caa: CoverArtArchive, fake_cover_art_archive: FakeCoverArtArchive
) -> None:
    fake_cover_art_archive.add_release_group_art(GROUP)
    outcome = caa.find_album(query(RELEASE, GROUP))
    assert outcome.url == f"{fake_cover_art_archive.url}/release-group/{GROUP}/front"
    assert [r.path for r in fake_cover_art_archive.requests] == [
        f"/release/{RELEASE}/front",
        f"/release-group/{GROUP}/front",
    ]


def test_miss(caa: CoverArtArchive, fake_cover_art_archive: FakeCoverArtArchive) -> None:
    outcome = caa.find_album(query())
    assert outcome.outcome is Outcome.MISS
    assert len(fake_cover_art_archive.requests) == 1


@pytest.mark.parametrize("mbid", [None, "", NIL, "not-a-uuid"])
def test_no_real_mbid_means_no_request(
    caa: CoverArtArchive, fake_cover_art_archive: FakeCoverArtArchive, mbid: str | None
) -> None:
    assert caa.find_album(query(mbid)).outcome is Outcome.SKIPPED
    assert fake_cover_art_archive.requests == []


@pytest.mark.parametrize("status", [429, 503])
def test_busy_then_success(
    caa: CoverArtArchive, fake_cover_art_archive: FakeCoverArtArchive, status: int
) -> None:
    fake_cover_art_archive.add_release_art(RELEASE)
    fake_cover_art_archive.fail_next("/release/", 1, status)
    assert caa.find_album(query()).outcome is Outcome.FOUND
    assert len(fake_cover_art_archive.requests) == 2


def test_timeout_is_a_transient_failure(fake_cover_art_archive: FakeCoverArtArchive) -> None:
    fake_cover_art_archive.add_release_art(RELEASE)
    fake_cover_art_archive.slow_next("/release/", SLOW_S, count=2)
    caa = CoverArtArchive(fake_cover_art_archive.url, policy=TIMING_OUT, rate_per_s=FAST_RATE)
    outcome = caa.find_album(query())
    assert outcome.outcome is Outcome.FAILED and outcome.transient
    assert "timed out" in outcome.reason
    assert len(fake_cover_art_archive.requests) == TIMING_OUT.max_retries + 1


def test_redirect_without_location_is_a_miss(
    caa: CoverArtArchive, fake_cover_art_archive: FakeCoverArtArchive
) -> None:
    fake_cover_art_archive.add_release_art(RELEASE, location=None)
    outcome = caa.find_album(query())
    assert outcome.outcome is Outcome.MISS and "307" in outcome.reason


@pytest.mark.parametrize("target", ["html", "missing"])
def test_redirect_to_a_non_image_is_a_miss(
    caa: CoverArtArchive,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_image_host: FakeImageHost,
    target: str,
) -> None:
    location = (
        fake_image_host.add_html("/page.html") if target == "html" else fake_image_host.missing()
    )
    fake_cover_art_archive.add_release_art(RELEASE, location=location)
    assert caa.find_album(query()).outcome is Outcome.MISS


def test_second_redirect_hop_and_head_refused_by_the_storage_host(
    caa: CoverArtArchive,
    fake_cover_art_archive: FakeCoverArtArchive,
    fake_image_host: FakeImageHost,
) -> None:
    fake_image_host.add_image("/node/cover.jpg", fmt="JPEG", head_status=405)
    fake_cover_art_archive.add_release_art(
        RELEASE, location=fake_image_host.add_redirect("/hop", "/node/cover.jpg")
    )
    assert caa.find_album(query()).outcome is Outcome.FOUND
    assert [(r.method, r.path) for r in fake_image_host.requests] == [
        ("HEAD", "/hop"),
        ("HEAD", "/node/cover.jpg"),
        ("GET", "/hop"),
        ("GET", "/node/cover.jpg"),
    ]
