"""Downloads an image into Koito's cache layout, as Koito's image cache would have written it.

``<KOITO_CONFIG_DIR>/image_cache/<uuid[0:2]>/<uuid>/source.webp``: a square centre crop whose
side is min(width, height) capped at 1200 px, WebP at quality 100. Koito serves this file and
makes its display sizes from it on demand. A response that is not a decodable image is a
recorded failure and writes nothing; files appear atomically (temporary file, then rename).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from koito_assets.enrich.http import (
    DEFAULT_POLICY,
    HttpFailure,
    HttpPolicy,
    HttpService,
    user_agent,
)

if TYPE_CHECKING:
    from koito_assets.settings import Settings

SOURCE_SIZE = "source"
MAX_SOURCE_PX = 1200
WEBP_QUALITY = 100
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024  # covers are far smaller; more is a broken or hostile host
MAX_PIXELS = 40_000_000  # ~6300 px square: decoding more than this is a decompression bomb
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class CachedImage:
    """The outcome of one download: the written path, or why nothing was written."""

    image_id: str
    path: Path | None
    reason: str = ""
    transient: bool = False  # True when trying again later may succeed (busy host, timeout)
    url: str | None = field(default=None, repr=False)  # may carry credentials (Subsonic)

    @property
    def ok(self) -> bool:
        return self.path is not None


class ImageRejected(Exception):
    """The bytes are not an image this cache will store."""


def canonical_image_id(image_id: str | uuid.UUID) -> str:
    """The UUID in Koito's canonical form; anything else is refused (it becomes a path)."""
    return str(uuid.UUID(str(image_id)))


def image_path(cache_dir: Path, image_id: str | uuid.UUID, size: str = SOURCE_SIZE) -> Path:
    """Where Koito looks for an image: ``<cache>/<id[0:2]>/<id>/<size>.webp``."""
    key = canonical_image_id(image_id)
    return cache_dir / key[:2] / key / f"{size}.webp"


def to_source_webp(data: bytes, max_pixels: int = MAX_PIXELS) -> bytes:
    """Decode ``data`` and re-encode it as Koito's source image (square, ≤ 1200 px, WebP q100)."""
    try:
        # Image.open reads only the header; the pixel count is checked before anything is decoded.
        # (Pillow's own limit, MAX_IMAGE_PIXELS, is a process global: it is left alone here.)
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise ImageRejected(f"too many pixels ({width}x{height})")
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("decompression bomb") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's "not an image"
        raise ImageRejected(f"undecodable image ({type(exc).__name__})") from None
    try:
        return _square_webp(image)
    except (OSError, ValueError) as exc:  # a mode or size Pillow cannot convert or encode
        raise ImageRejected(f"cannot convert image ({type(exc).__name__})") from None


def _square_webp(image: Image.Image) -> bytes:
    """Centre square, at most MAX_SOURCE_PX a side, as WebP at Koito's source quality."""
    side = min(image.size)
    if side == 0:
        raise ValueError("empty image")
    left = (image.width - side) // 2
    top = (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    if side > MAX_SOURCE_PX:
        square = square.resize((MAX_SOURCE_PX, MAX_SOURCE_PX), Image.Resampling.LANCZOS)
    has_alpha = square.mode in ("RGBA", "LA", "PA") or "transparency" in square.info
    square = square.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    square.save(out, "WEBP", quality=WEBP_QUALITY)
    return out.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class ImageCache:
    """Fetches image URLs into Koito's cache; one instance may serve several threads."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        policy: HttpPolicy = DEFAULT_POLICY,
        rate_per_s: float = 10.0,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        max_pixels: int = MAX_PIXELS,
        max_download_s: float = 60.0,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.max_download_s = max_download_s
        self.service = HttpService(
            "image download", None, rate_per_s=rate_per_s, burst=10, policy=policy, accept="image/*"
        )

    def path_for(self, image_id: str | uuid.UUID) -> Path:
        """Path of the source image of ``image_id``."""
        return image_path(self.cache_dir, image_id)

    def has(self, image_id: str | uuid.UUID) -> bool:
        return self.path_for(image_id).is_file()

    def download(self, url: str, image_id: str | uuid.UUID) -> CachedImage:
        """GET ``url`` (redirects followed), check it is an image, and store it for ``image_id``.

        Every problem with the response is a returned failure; only a local disk error (full,
        read-only) raises, because it would fail every other download too.
        """
        key = canonical_image_id(image_id)
        try:
            data = self._fetch(url)
            webp = to_source_webp(data, self.max_pixels)
        except HttpFailure as exc:
            return CachedImage(key, None, exc.reason, exc.transient, url)
        except ImageRejected as exc:
            return CachedImage(key, None, str(exc), False, url)
        path = self.path_for(key)
        write_atomically(path, webp)
        return CachedImage(key, path, url=url)

    def _fetch(self, url: str) -> bytes:
        """The response body, read under a byte cap and a total time limit."""
        response = self.service.request("GET", url, stream=True)
        with response:
            if response.status_code != 200:
                raise HttpFailure(f"download: HTTP {response.status_code}", transient=False)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise ImageRejected(f"not an image ({content_type or 'no content type'})")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise ImageRejected(f"too large ({declared} bytes)")
            deadline = time.monotonic() + self.max_download_s
            body = bytearray()
            try:
                for chunk in response.iter_content(_CHUNK):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise ImageRejected(f"too large (over {self.max_bytes} bytes)")
                    if time.monotonic() > deadline:
                        raise HttpFailure(f"download: slower than {self.max_download_s:g} s")
            except (
                OSError,
                ValueError,
            ) as exc:  # requests' connection/decoding errors while streaming
                raise HttpFailure(f"download: interrupted ({type(exc).__name__})") from None
            return bytes(body)


def image_cache_from_settings(
    settings: Settings, *, policy: HttpPolicy = DEFAULT_POLICY
) -> ImageCache:
    """The cache under KOITO_CONFIG_DIR/image_cache, where Koito reads it."""
    policy = replace(policy, user_agent=user_agent(settings.user_agent_contact))
    return ImageCache(settings.image_cache_dir, policy=policy)
