"""A fake Last.fm API (docs/external-apis.md §4): ``/2.0/?method=artist.getInfo|album.getInfo``.

Lookups work by ``mbid`` or by names (``autocorrect=1`` makes name matching case-insensitive).
Image lists come from :meth:`FakeLastFm.image_set`: real images on the image host at Last.fm's
``/i/u/<size>/<hash>.png`` paths, optionally with the ``600x600`` variant Koito probes for, or
the placeholder star hash that Last.fm now returns for nearly every artist. Errors use Last.fm's
``{"error", "message", "links"}`` body (:func:`lastfm_error`); error 6's HTTP status is set by
``not_found_status`` because Last.fm sends it with 200, 400 or 404.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.image_host import FakeImageHost
from tests.fakes.server import FakeServer, LoggedRequest, Reply

PLACEHOLDER_HASH = "2a96cbd8b46e442fc41c2b86b821562f"
ERRORS = {
    3: "Invalid Method - No method with that name in this package",
    6: "The item you supplied could not be found",
    8: "Operation failed - Most likely the backend service failed. Please try again.",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    11: "Service Offline - This service is temporarily offline. Try again later.",
    26: "Suspended API key - Access for your account has been suspended",
    29: "Rate limit exceeded - Your IP has made too many requests in a short period",
}


def lastfm_error(code: int, status: int = 200) -> Reply:
    """Last.fm's error body for ``code``, sent with HTTP ``status``."""
    return Reply.json({"error": code, "message": ERRORS[code], "links": []}, status)


@dataclass
class _Entry:
    name: str
    artist: str
    mbid: str
    images: list[dict[str, str]] = field(default_factory=list)


class FakeLastFm(FakeServer):
    """Last.fm's artist.getInfo and album.getInfo, requiring ``api_key=API_KEY`` and JSON."""

    API_KEY = "fake-lastfm-key"

    def __init__(self, image_host: FakeImageHost, not_found_status: int = 200) -> None:
        super().__init__()
        self.image_host = image_host
        self.not_found_status = not_found_status
        self._artists: list[_Entry] = []
        self._albums: list[_Entry] = []

    def image_set(
        self, key: str, *, with_600: bool = False, placeholder: bool = False
    ) -> list[dict[str, str]]:
        """Last.fm's six-entry ``image`` list for ``key``, served as real PNGs by the image host."""
        digest = PLACEHOLDER_HASH if placeholder else hashlib.md5(key.encode()).hexdigest()
        paths = {
            "small": f"/i/u/34s/{digest}.png",
            "medium": f"/i/u/64s/{digest}.png",
            "large": f"/i/u/174s/{digest}.png",
            "extralarge": f"/i/u/300x300/{digest}.png",
            "mega": f"/i/u/300x300/{digest}.png",
            "": f"/i/u/300x300/{digest}.png",
        }
        for path in set(paths.values()):
            self.image_host.add_image(path, size=(300, 300) if "300x300" in path else (64, 64))
        if with_600:
            self.image_host.add_image(f"/i/u/600x600/{digest}.png", size=(600, 600))
        return [
            {"size": size, "#text": self.image_host.url_for(path)} for size, path in paths.items()
        ]

    def add_artist(
        self, name: str, mbid: str = "", images: list[dict[str, str]] | None = None
    ) -> None:
        """An artist; without ``images`` it gets the placeholder star, as real artists do."""
        images = self.image_set(name, placeholder=True) if images is None else images
        self._artists.append(_Entry(name, name, mbid, images))

    def add_album(
        self, artist: str, title: str, mbid: str = "", images: list[dict[str, str]] | None = None
    ) -> None:
        """An album; without ``images`` it gets a real cover with a 600x600 variant."""
        images = self.image_set(f"{artist}/{title}", with_600=True) if images is None else images
        self._albums.append(_Entry(title, artist, mbid, images))

    def route(self, request: LoggedRequest) -> Reply:
        if request.path.rstrip("/") != "/2.0":
            return Reply.text("Not Found", 404)
        if request.param("api_key") != self.API_KEY:
            return lastfm_error(10, 403)
        if request.param("format") != "json":
            return Reply.text(
                '<?xml version="1.0"?><lfm status="ok"></lfm>', content_type="text/xml"
            )
        method = (request.param("method") or "").lower()
        if method == "artist.getinfo":
            found = self._find(
                self._artists, request, lambda e, p: _same(e.name, p.get("artist"), p)
            )
            return self._answer("artist", found, _artist_json)
        if method == "album.getinfo":
            found = self._find(
                self._albums,
                request,
                lambda e, p: (
                    _same(e.artist, p.get("artist"), p) and _same(e.name, p.get("album"), p)
                ),
            )
            return self._answer("album", found, _album_json)
        return lastfm_error(3, 400)

    def _find(self, entries: list[_Entry], request: LoggedRequest, by_name: Any) -> _Entry | None:
        params = {k: v[0] for k, v in request.query.items()}
        if params.get("mbid"):
            return next((e for e in entries if e.mbid and e.mbid == params["mbid"]), None)
        return next((e for e in entries if by_name(e, params)), None)

    def _answer(self, key: str, entry: _Entry | None, render: Any) -> Reply:
        if entry is None:
            return lastfm_error(6, self.not_found_status)
        return Reply.json({key: render(entry)})


def _same(stored: str, asked: str | None, params: dict[str, str]) -> bool:
    if asked is None:
        return False
    if params.get("autocorrect") == "1":
        return stored.casefold() == asked.strip().casefold()
    return stored == asked


def _artist_json(entry: _Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "mbid": entry.mbid,
        "url": f"https://www.last.fm/music/{entry.name.replace(' ', '+')}",
        "image": entry.images,
        "streamable": "0",
        "ontour": "0",
        "stats": {"listeners": "1234", "playcount": "56789"},
        "bio": {"summary": "", "content": ""},
    }


def _album_json(entry: _Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "artist": entry.artist,
        "mbid": entry.mbid,
        "url": "https://www.last.fm/music/"
        + f"{entry.artist.replace(' ', '+')}/{entry.name.replace(' ', '+')}",
        "image": entry.images,
        "listeners": "1234",
        "playcount": "56789",
        "tags": {"tag": []},
    }
