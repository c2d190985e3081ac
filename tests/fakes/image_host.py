"""A fake image host (CDN) serving real image bytes, plus every failure of docs/external-apis.md §6.

Register what a test needs; each method returns the absolute URL to hand to a client::

    url = host.add_image("/covers/a.png", size=(300, 200))      # real PNG bytes made with Pillow
    host.add_reply("/page", Reply.text("<html>", content_type="text/html"))
    host.add_redirect("/old", "/covers/a.png")                  # 302 hop
    host.add_image("/picky.jpg", fmt="JPEG", head_status=405)   # HEAD 405, GET 200

Any other path answers 404. HEAD and GET share status and headers (HEAD has no body).
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from tests.fakes.server import FakeServer, LoggedRequest, Reply

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def make_image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] = (200, 40, 40),
    mode: str = "RGB",
) -> bytes:
    """A valid image file of ``size`` in ``fmt`` (PNG, JPEG, GIF, WEBP) filled with ``color``."""
    image = Image.new(mode, size, color if mode in ("RGB", "RGBA") else 128)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def make_striped_png(width: int, height: int) -> bytes:
    """A PNG whose outer quarters are red (left/top) and blue (right/bottom), centre green.

    Lets a test tell a centre crop from any other crop by sampling the result.
    """
    image = Image.new("RGB", (width, height), (0, 200, 0))
    if width >= height:
        quarter = width // 4
        image.paste((220, 0, 0), (0, 0, quarter, height))
        image.paste((0, 0, 220), (width - quarter, 0, width, height))
    else:
        quarter = height // 4
        image.paste((220, 0, 0), (0, 0, width, quarter))
        image.paste((0, 0, 220), (0, height - quarter, width, height))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def forge_png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims ``width`` x ``height`` pixels: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


class FakeImageHost(FakeServer):
    """Serves registered paths; everything else is 404."""

    def __init__(self) -> None:
        super().__init__()
        self._replies: dict[str, Reply] = {}
        self._head_replies: dict[str, Reply] = {}

    def url_for(self, path: str) -> str:
        """Absolute URL of ``path`` on this host."""
        return f"{self.url}{path}"

    def add_reply(self, path: str, reply: Reply, head_status: int | None = None) -> str:
        """Serve ``reply`` at ``path``; ``head_status`` makes HEAD answer differently (405...)."""
        self._replies[path] = reply
        if head_status is not None:
            self._head_replies[path] = Reply(head_status, b"", {"Allow": "GET"})
        return self.url_for(path)

    def add_image(
        self,
        path: str,
        fmt: str = "PNG",
        size: tuple[int, int] = (64, 48),
        color: tuple[int, int, int] = (200, 40, 40),
        head_status: int | None = None,
    ) -> str:
        """Serve a real image generated with Pillow at ``path``."""
        body = make_image_bytes(fmt, size, color)
        return self.add_bytes(path, body, CONTENT_TYPES[fmt], head_status)

    def add_bytes(
        self, path: str, body: bytes, content_type: str, head_status: int | None = None
    ) -> str:
        """Serve ``body`` as ``content_type`` at ``path`` (garbage labelled image/jpeg, a bomb)."""
        return self.add_reply(path, Reply(200, body, {"Content-Type": content_type}), head_status)

    def add_html(self, path: str) -> str:
        """A ``200 text/html`` page where an image was expected."""
        return self.add_reply(
            path, Reply.text("<html><body>not an image</body></html>", content_type="text/html")
        )

    def add_redirect(self, path: str, target_path: str, status: int = 302) -> str:
        """A redirect hop from ``path`` to ``target_path`` on this host."""
        return self.add_reply(path, Reply(status, b"", {"Location": self.url_for(target_path)}))

    def missing(self, path: str = "/missing.png") -> str:
        """The URL of a path that answers 404."""
        return self.url_for(path)

    def route(self, request: LoggedRequest) -> Reply:
        if request.method == "HEAD" and request.path in self._head_replies:
            return self._head_replies[request.path]
        if request.method not in ("GET", "HEAD"):
            return Reply(405, b"", {"Allow": "GET, HEAD"})
        return self._replies.get(request.path) or Reply.text("Not Found", 404)
