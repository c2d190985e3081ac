"""Downloads into Koito's image cache layout: path, square WebP ≤ 1200 px, refusals, atomicity."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PIL import Image

from koito_assets.enrich.images import ImageCache, image_cache_from_settings, image_path
from koito_assets.settings import Settings
from tests.enrich.policies import FAST, SLOW_S, TIMING_OUT
from tests.fakes.image_host import (
    FakeImageHost,
    forge_png_header,
    make_image_bytes,
    make_striped_png,
)

IMAGE_ID = "3f2a9c1e-8b7d-4c6a-9e5f-0123456789ab"


@pytest.fixture
def cache(tmp_path: Path) -> ImageCache:
    settings = Settings(config_dir=tmp_path / "koito")
    return image_cache_from_settings(settings, policy=FAST)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_image_lands_where_koito_serves_it_as_a_square_webp(
    cache: ImageCache, fake_image_host: FakeImageHost, tmp_path: Path
) -> None:
    url = fake_image_host.add_bytes("/wide.png", make_striped_png(400, 200), "image/png")
    result = cache.download(url, IMAGE_ID)
    expected = tmp_path / "koito" / "image_cache" / "3f" / IMAGE_ID / "source.webp"
    assert result.ok and result.path == expected
    assert files_under(tmp_path) == [expected]
    with Image.open(expected) as image:
        assert image.format == "WEBP" and image.size == (200, 200)
        rgb = image.convert("RGB")
        # Centre crop of a 400x200 image keeps x = 100..300: red ends at 100, blue starts at 300,
        # so the edges of the result are green; an off-centre crop would show red or blue.
        for x in (0, 100, 199):
            red, green, blue = rgb.getpixel((x, 100))
            assert green > 150 and red < 60 and blue < 60, (x, (red, green, blue))


def test_centre_crop_of_a_tall_image(cache: ImageCache, fake_image_host: FakeImageHost) -> None:
    url = fake_image_host.add_bytes("/tall.png", make_striped_png(100, 180), "image/png")
    path = cache.download(url, IMAGE_ID).path
    assert path is not None
    with Image.open(path) as image:
        assert image.size == (100, 100)
        rgb = image.convert("RGB")
        # Rows 40..140 of the source are kept: red ends at row 45, blue starts at row 135.
        top, bottom = rgb.getpixel((50, 2)), rgb.getpixel((50, 97))
        assert top[0] > 150 and top[1] < 60
        assert bottom[2] > 150 and bottom[1] < 60


def test_large_images_are_capped_at_1200_px(
    cache: ImageCache, fake_image_host: FakeImageHost
) -> None:
    url = fake_image_host.add_image("/big.jpg", fmt="JPEG", size=(2000, 1500))
    path = cache.download(url, IMAGE_ID).path
    assert path is not None
    with Image.open(path) as image:
        assert image.size == (1200, 1200)


def test_transparency_is_kept(cache: ImageCache, fake_image_host: FakeImageHost) -> None:
    url = fake_image_host.add_bytes(
        "/alpha.png", make_image_bytes("PNG", (40, 40), (10, 20, 30, 0), "RGBA"), "image/png"
    )
    path = cache.download(url, IMAGE_ID).path
    assert path is not None
    with Image.open(path) as image:
        assert image.mode == "RGBA" and image.getpixel((20, 20))[3] == 0


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<html>nope</html>", "text/html", "not an image (text/html)"),
        (b"\xff\xd8\xff\xe0 definitely not a jpeg", "image/jpeg", "undecodable image"),
        (make_image_bytes("PNG", (64, 64))[:60], "image/png", "undecodable image"),
        (forge_png_header(8000, 8000), "image/png", "too many pixels"),  # our cap, below Pillow's
        (
            forge_png_header(100_000, 100_000),
            "image/png",
            "decompression bomb",
        ),  # Pillow's own guard
    ],
    ids=["html", "garbage", "truncated", "over-our-cap", "bomb"],
)
def test_broken_or_hostile_bodies_are_refused_and_nothing_is_written(
    cache: ImageCache,
    fake_image_host: FakeImageHost,
    tmp_path: Path,
    body: bytes,
    content_type: str,
    reason: str,
) -> None:
    url = fake_image_host.add_bytes("/x", body, content_type)
    result = cache.download(url, IMAGE_ID)
    assert not result.ok and not result.transient and reason in result.reason
    assert files_under(tmp_path) == []


def test_download_larger_than_the_cap_is_refused(
    tmp_path: Path, fake_image_host: FakeImageHost
) -> None:
    cache = ImageCache(tmp_path, policy=FAST, max_bytes=1000)
    url = fake_image_host.add_image("/big.jpg", fmt="JPEG", size=(400, 400))
    result = cache.download(url, IMAGE_ID)
    assert not result.ok and "too large" in result.reason
    assert files_under(tmp_path) == []


def test_missing_image_is_a_final_failure(
    cache: ImageCache, fake_image_host: FakeImageHost
) -> None:
    result = cache.download(fake_image_host.missing(), IMAGE_ID)
    assert not result.ok and not result.transient and "HTTP 404" in result.reason


def test_busy_host_then_success(cache: ImageCache, fake_image_host: FakeImageHost) -> None:
    url = fake_image_host.add_image("/a.png")
    fake_image_host.fail_next("/a.png", 1, 429)
    assert cache.download(url, IMAGE_ID).ok
    assert len(fake_image_host.requests) == 2


def test_slow_host_is_a_transient_failure(fake_image_host: FakeImageHost, tmp_path: Path) -> None:
    url = fake_image_host.add_image("/a.png")
    fake_image_host.slow_next("/a.png", SLOW_S, count=2)
    result = ImageCache(tmp_path, policy=TIMING_OUT).download(url, IMAGE_ID)
    assert not result.ok and result.transient and "timed out" in result.reason
    assert files_under(tmp_path) == []


def test_redirects_are_followed(cache: ImageCache, fake_image_host: FakeImageHost) -> None:
    fake_image_host.add_image("/real.png")
    assert cache.download(fake_image_host.add_redirect("/hop", "/real.png"), IMAGE_ID).ok


def test_a_new_download_replaces_the_old_file_whole(
    cache: ImageCache, fake_image_host: FakeImageHost
) -> None:
    first = cache.download(fake_image_host.add_image("/a.png", size=(50, 50)), IMAGE_ID)
    second = cache.download(fake_image_host.add_image("/b.png", size=(80, 80)), IMAGE_ID)
    assert first.path == second.path and second.path is not None
    with Image.open(second.path) as image:
        assert image.size == (80, 80)
    assert files_under(second.path.parent) == [second.path]  # no temporary file left behind


def test_image_ids_must_be_uuids(cache: ImageCache) -> None:
    with pytest.raises(ValueError):
        cache.path_for("../../etc/passwd")
    upper = uuid.UUID(IMAGE_ID)
    assert image_path(Path("/c"), str(upper).upper()) == Path(f"/c/3f/{IMAGE_ID}/source.webp")
