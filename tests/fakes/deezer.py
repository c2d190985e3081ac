"""A fake Deezer search API (docs/external-apis.md §3): ``/search/artist`` and ``/search/album``.

Matching is fuzzy like Deezer's: an entry is returned when the queried text is contained in its
name (case-insensitive), so near-misses ("Ada Example Band" for "Ada Example") come back too and
the client must pick. ``q`` understands ``artist:"…"`` and ``album:"…"`` terms, with or without
a space between them; ``limit`` and ``index`` page the results. Errors arrive as HTTP 200 with an
``error`` object (:func:`deezer_error`); more than 50 requests in 5 s get quota error 4.
"""

from __future__ import annotations

import collections
import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Any

from tests.fakes.image_host import FakeImageHost
from tests.fakes.server import FakeServer, LoggedRequest, Reply

_TERM = re.compile(r'(\w+):"([^"]*)"')
PLACEHOLDER_SUFFIX = "/1000x1000-000000-80-0-0.jpg"
ERRORS = {
    4: ("Exception", "Quota limit exceeded"),
    100: ("Exception", "Items limit exceeded"),
    600: ("InvalidQueryException", "Invalid query"),
    700: ("Exception", "Service busy"),
    800: ("DataException", "no data"),
}


def deezer_error(code: int) -> Reply:
    """Deezer's error envelope for ``code``, with HTTP 200 as Deezer sends it."""
    kind, message = ERRORS[code]
    return Reply.json({"error": {"type": kind, "message": message, "code": code}})


@dataclass(frozen=True)
class _Artist:
    id: int
    name: str
    picture_xl: str


@dataclass(frozen=True)
class _Album:
    id: int
    title: str
    artist: _Artist
    cover_xl: str


def _sized(url: str, size: str) -> str:
    return url.replace("1000x1000", size)


class FakeDeezer(FakeServer):
    """Deezer's public search, with pictures and covers served by ``image_host``."""

    QUOTA = 50  # requests per QUOTA_WINDOW_S, per client
    QUOTA_WINDOW_S = 5.0

    def __init__(self, image_host: FakeImageHost) -> None:
        super().__init__()
        self.image_host = image_host
        self._artists: list[_Artist] = []
        self._albums: list[_Album] = []
        self._recent: collections.deque[float] = collections.deque()
        self._quota_lock = threading.Lock()
        self.quota_exceeded = 0  # requests refused with error code 4

    def _image(self, kind: str, key: str, placeholder: bool) -> str:
        # Deezer's path: /images/{kind}/{hash}/1000x1000-...; no photo leaves the hash empty.
        digest = "" if placeholder else hashlib.md5(key.encode()).hexdigest()
        path = f"/images/{kind}/{digest}{PLACEHOLDER_SUFFIX}"
        return self.image_host.add_image(path, fmt="JPEG", size=(100, 100), color=(90, 90, 90))

    def add_artist(
        self, name: str, *, placeholder: bool = False, picture_xl: str | None = None
    ) -> str:
        """An artist; returns its ``picture_xl`` (a real image, or the empty-hash placeholder)."""
        picture = picture_xl or self._image("artist", name, placeholder)
        artist = _Artist(len(self._artists) + 101, name, picture)
        self._artists.append(artist)
        return picture

    def add_album(
        self, title: str, artist: str, *, placeholder: bool = False, cover_xl: str | None = None
    ) -> str:
        """An album by ``artist`` (registered if new); returns its ``cover_xl``."""
        known = next((a for a in self._artists if a.name == artist), None)
        if known is None:
            self.add_artist(artist)
            known = self._artists[-1]
        cover = cover_xl or self._image("cover", f"{artist}/{title}", placeholder)
        self._albums.append(_Album(len(self._albums) + 201, title, known, cover))
        return cover

    def _over_quota(self, at: float) -> bool:
        with self._quota_lock:
            while self._recent and at - self._recent[0] >= self.QUOTA_WINDOW_S:
                self._recent.popleft()
            self._recent.append(at)
            if len(self._recent) > self.QUOTA:
                self.quota_exceeded += 1
                return True
            return False

    def route(self, request: LoggedRequest) -> Reply:
        if self._over_quota(request.time):
            return deezer_error(4)
        if request.path not in ("/search/artist", "/search/album"):
            return Reply.json(
                {"error": {"type": "DataException", "message": "no data", "code": 800}}
            )
        q = request.param("q")
        if not q:
            return Reply.json(
                {
                    "error": {
                        "type": "MissingParameterException",
                        "message": "Missing parameters: q",
                        "code": 501,
                    }
                }
            )
        terms = {k.lower(): v.casefold() for k, v in _TERM.findall(q)}
        free = _TERM.sub(" ", q).strip().casefold()
        if request.path == "/search/artist":
            wanted = terms.get("artist", free)
            hits = [_artist_json(a) for a in self._artists if wanted in a.name.casefold()]
        else:
            hits = [_album_json(a) for a in self._albums if _album_matches(a, terms, free)]
        return Reply.json(_page(request, hits))


def _album_matches(album: _Album, terms: dict[str, str], free: str) -> bool:
    if "artist" in terms and terms["artist"] not in album.artist.name.casefold():
        return False
    if "album" in terms and terms["album"] not in album.title.casefold():
        return False
    return free in f"{album.title} {album.artist.name}".casefold()


def _page(request: LoggedRequest, hits: list[dict[str, Any]]) -> dict[str, Any]:
    index = int(request.param("index") or 0)
    limit = int(request.param("limit") or 25)
    page: dict[str, Any] = {"data": hits[index : index + limit], "total": len(hits)}
    if index + limit < len(hits):
        page["next"] = f"https://api.deezer.com{request.path}?q=...&index={index + limit}"
    if index > 0:
        page["prev"] = f"https://api.deezer.com{request.path}?q=...&index={max(0, index - limit)}"
    return page


def _artist_json(artist: _Artist) -> dict[str, Any]:
    xl = artist.picture_xl
    return {
        "id": artist.id,
        "name": artist.name,
        "link": f"https://www.deezer.com/artist/{artist.id}",
        "picture": f"https://api.deezer.com/artist/{artist.id}/image",
        "picture_small": _sized(xl, "56x56"),
        "picture_medium": _sized(xl, "250x250"),
        "picture_big": _sized(xl, "500x500"),
        "picture_xl": xl,
        "nb_album": 3,
        "nb_fan": 4200,
        "radio": True,
        "tracklist": f"https://api.deezer.com/artist/{artist.id}/top?limit=50",
        "type": "artist",
    }


def _album_json(album: _Album) -> dict[str, Any]:
    xl = album.cover_xl
    return {
        "id": album.id,
        "title": album.title,
        "link": f"https://www.deezer.com/album/{album.id}",
        "cover": f"https://api.deezer.com/album/{album.id}/image",
        "cover_small": _sized(xl, "56x56"),
        "cover_medium": _sized(xl, "250x250"),
        "cover_big": _sized(xl, "500x500"),
        "cover_xl": xl,
        "md5_image": "",
        "genre_id": 0,
        "nb_tracks": 10,
        "record_type": "album",
        "tracklist": f"https://api.deezer.com/album/{album.id}/tracks",
        "explicit_lyrics": False,
        "artist": {
            "id": album.artist.id,
            "name": album.artist.name,
            "link": f"https://www.deezer.com/artist/{album.artist.id}",
            "picture_xl": album.artist.picture_xl,
            "type": "artist",
        },
        "type": "album",
    }
