"""A fake (Open)Subsonic server (docs/external-apis.md §5): ping, search3, getCoverArt.

Accepts ``/rest/X`` and ``/rest/X.view``; checks ``u`` with ``t``+``s`` (md5 of password+salt)
or ``p`` (clear or ``enc:<hex>``), or an ``apiKey``. Errors use the ``subsonic-response``
envelope with ``status: "failed"`` and HTTP 200. ``search3`` matches a UUID query against stored
MBIDs when ``mbid_search`` is on (Navidrome from mid-2025), else does a case-insensitive
substring search; empty lists are left out. ``getCoverArt`` serves real PNG bytes for known
cover ids, and code 70 (or a bare 404 with ``cover_not_found_status=404``) otherwise.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.fakes.image_host import FakeImageHost, make_image_bytes
from tests.fakes.server import FakeServer, LoggedRequest, Reply

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MESSAGES = {
    0: "Generic error",
    10: "Required parameter is missing",
    40: "Wrong username or password",
    43: "Multiple conflicting authentication mechanisms provided",
    44: "Invalid API key",
    70: "The requested data was not found",
}


@dataclass(frozen=True)
class _Album:
    id: str
    name: str
    artist: str
    cover_art: str | None
    mbid: str | None  # None: the key is left out (a plain Subsonic server)


@dataclass(frozen=True)
class _Artist:
    id: str
    name: str
    image_url: str | None
    mbid: str | None


class FakeSubsonic(FakeServer):
    """A Navidrome-like server with user ``USERNAME`` / ``PASSWORD`` and ``API_KEY``."""

    USERNAME = "koito"
    PASSWORD = "s3same"
    API_KEY = "fake-subsonic-api-key"

    def __init__(self, image_host: FakeImageHost, mbid_search: bool = True) -> None:
        super().__init__()
        self.image_host = image_host
        self.mbid_search = mbid_search
        self.cover_not_found_status = 200
        self._albums: list[_Album] = []
        self._artists: list[_Artist] = []
        self._covers: dict[str, bytes] = {}

    @classmethod
    def auth_params(cls, salt: str = "c19b2d", password: str | None = None) -> str:
        """A preformatted ``u=…&t=…&s=…`` string, as KOITO_SUBSONIC_PARAMS holds it."""
        token = hashlib.md5(((password or cls.PASSWORD) + salt).encode()).hexdigest()
        return urlencode({"u": cls.USERNAME, "t": token, "s": salt})

    def add_album(
        self,
        id: str,
        name: str,
        artist: str,
        *,
        cover_art: str | None = "auto",
        mbid: str | None = None,
    ) -> None:
        """An album; ``cover_art="auto"`` gives it a real cover served by getCoverArt."""
        if cover_art == "auto":
            cover_art = f"{id}_cover"
            self._covers[cover_art] = make_image_bytes("PNG", (120, 120), (30, 30, 200))
        self._albums.append(_Album(id, name, artist, cover_art, mbid))

    def add_artist(
        self, id: str, name: str, *, image_url: str | None = None, mbid: str | None = None
    ) -> None:
        """An artist whose ``artistImageUrl`` is ``image_url`` (any URL, e.g. on the image host)."""
        self._artists.append(_Artist(id, name, image_url, mbid))

    # -- serving ---------------------------------------------------------------------------
    def route(self, request: LoggedRequest) -> Reply:
        match = re.match(r"^/rest/(\w+?)(?:\.view)?$", request.path)
        method = match.group(1) if match else None
        if method not in ("ping", "search3", "getCoverArt"):
            return Reply.text("404 page not found", 404)
        auth_error = self._auth_error(request)
        if auth_error is not None:
            return self._envelope(request, {}, auth_error)
        if method == "ping":
            return self._envelope(request, {})
        if method == "search3":
            if request.param("query") is None:
                return self._envelope(request, {}, 10)
            return self._envelope(request, {"searchResult3": self._search(request)})
        return self._cover(request)

    def _auth_error(self, request: LoggedRequest) -> int | None:
        p = {k: v[0] for k, v in request.query.items()}
        if "apiKey" in p:
            if any(k in p for k in ("u", "t", "s", "p")):
                return 43
            return None if p["apiKey"] == self.API_KEY else 44
        if "u" not in p or not ("p" in p or ("t" in p and "s" in p)):
            return 10
        if p["u"] != self.USERNAME:
            return 40
        if "t" in p:
            expected = hashlib.md5((self.PASSWORD + p["s"]).encode()).hexdigest()
            return None if p["t"].lower() == expected else 40
        password = p["p"]
        if password.startswith("enc:"):
            password = bytes.fromhex(password[4:]).decode()
        return None if password == self.PASSWORD else 40

    def _search(self, request: LoggedRequest) -> dict[str, Any]:
        query = (request.param("query") or "").strip()
        by_mbid = self.mbid_search and bool(_UUID.match(query.lower()))

        def hit(name: str, mbid: str | None, also: str = "") -> bool:
            if by_mbid:
                return mbid == query.lower()
            return query.casefold() in f"{name} {also}".casefold()

        result: dict[str, Any] = {}
        albums = [_album_json(a) for a in self._albums if hit(a.name, a.mbid, a.artist)]
        artists = [_artist_json(a) for a in self._artists if hit(a.name, a.mbid)]
        for key, items in (("album", albums), ("artist", artists)):
            count = int(request.param(f"{key}Count") or 20)
            offset = int(request.param(f"{key}Offset") or 0)
            page = items[offset : offset + count]
            if page:  # Subsonic leaves empty lists out entirely
                result[key] = page
        return result

    def _cover(self, request: LoggedRequest) -> Reply:
        cover = self._covers.get(request.param("id") or "")
        if cover is not None:
            return Reply(200, cover, {"Content-Type": "image/png"})
        if self.cover_not_found_status == 404:
            return Reply.text("404 page not found", 404)
        return self._envelope(request, {}, 70)

    def _envelope(
        self, request: LoggedRequest, payload: dict[str, Any], error: int | None = None
    ) -> Reply:
        body: dict[str, Any] = {
            "status": "ok" if error is None else "failed",
            "version": "1.16.1",
            "type": "fake-navidrome",
            "serverVersion": "0.55.0",
            "openSubsonic": True,
            **payload,
        }
        if error is not None:
            body["error"] = {"code": error, "message": MESSAGES[error]}
        if request.param("f") == "json":
            return Reply.json({"subsonic-response": body})
        status_attr = body["status"]
        inner = f'<error code="{error}" message="{MESSAGES[error]}"/>' if error is not None else ""
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<subsonic-response xmlns="http://subsonic.org/restapi" '
            f'status="{status_attr}" version="1.16.1">'
            f"{inner}</subsonic-response>"
        )
        return Reply.text(xml, content_type="text/xml")


def _album_json(album: _Album) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": album.id,
        "name": album.name,
        "artist": album.artist,
        "artistId": "ar-" + hashlib.md5(album.artist.encode()).hexdigest()[:6],
        "songCount": 10,
        "duration": 2400,
        "created": "2024-01-01T00:00:00Z",
        "year": 2019,
    }
    if album.cover_art is not None:
        body["coverArt"] = album.cover_art
    if album.mbid is not None:
        body["musicBrainzId"] = album.mbid
    return body


def _artist_json(artist: _Artist) -> dict[str, Any]:
    body: dict[str, Any] = {"id": artist.id, "name": artist.name, "albumCount": 1}
    if artist.image_url is not None:
        body["coverArt"] = f"ar-{artist.id}"
        body["artistImageUrl"] = artist.image_url
    if artist.mbid is not None:
        body["musicBrainzId"] = artist.mbid
    return body
