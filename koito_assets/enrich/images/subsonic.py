"""Subsonic / OpenSubsonic: covers and artist images from the user's own server (``search3``).

Koito's rules with its bugs removed: no search with the nil MBID; the cover of the album that
matched is used, not the first album's; an artist result must carry the asked name. URLs built
here contain the credentials of KOITO_SUBSONIC_PARAMS: they are returned to be stored (as Koito
stores them) but never appear in a reason or a log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from koito_assets.enrich.http import (
    DEFAULT_POLICY,
    HttpFailure,
    HttpPolicy,
    HttpService,
    MalformedResponse,
    read_json,
)
from koito_assets.enrich.images.matching import real_mbid, same_name, unique_names
from koito_assets.enrich.images.result import AlbumQuery, ProviderOutcome
from koito_assets.enrich.images.validate import ImageValidator

API_VERSION = "1.16.1"  # token auth needs >= 1.13.0
CLIENT_NAME = "koito-assets"
NOT_FOUND = 70
# Credentials or protocol refused: every later call would fail the same way.
FATAL_CODES = frozenset({10, 20, 30, 40, 41, 42, 43, 44, 50, 60})


class SubsonicError(Exception):
    """A ``status: "failed"`` envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"error {code}: {message}")
        self.code = code


class Subsonic:
    """``search3`` and ``getCoverArt`` on ``{base}/rest``, 5 req/s; results pass the image check."""

    name = "subsonic"

    def __init__(
        self,
        base_url: str,
        auth_params: str,
        images: ImageValidator,
        *,
        policy: HttpPolicy = DEFAULT_POLICY,
        rate_per_s: float = 5.0,
    ) -> None:
        self.service = HttpService(
            self.name, base_url, rate_per_s=rate_per_s, burst=5, policy=policy
        )
        self._auth = auth_params.strip().lstrip("?&")
        given = {key for key, _ in parse_qsl(self._auth)}
        # Koito's preformatted string holds only the auth; add what the protocol needs.
        defaults = {"v": API_VERSION, "c": CLIENT_NAME, "f": "json"}
        self._protocol = {k: v for k, v in defaults.items() if k not in given}
        self._covers = ImageValidator(self.service)  # getCoverArt is on this server: same limiter
        self._images = images  # artistImageUrl may be anywhere
        self.disabled_reason: str | None = None

    def _url(self, method: str, params: dict[str, str | int]) -> str:
        return self.service.url(
            f"/rest/{method}?{self._auth}&{urlencode({**params, **self._protocol})}"
        )

    def _call(self, method: str, params: dict[str, str | int]) -> dict[str, Any]:
        """The ``subsonic-response`` object of a successful call; raises on anything else."""
        response = self.service.request("GET", self._url(method, params))
        if response.status_code != 200:
            status = response.status_code
            raise HttpFailure(f"{self.name}: HTTP {status}", transient=status >= 500)
        body = read_json(response)
        envelope = body.get("subsonic-response") if isinstance(body, dict) else None
        if not isinstance(envelope, dict):
            raise MalformedResponse("no 'subsonic-response' object")
        status = envelope.get("status")
        if status == "ok":
            return envelope
        if status == "failed":
            error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
            code = error.get("code")
            raise SubsonicError(code if isinstance(code, int) else 0, str(error.get("message", "")))
        raise MalformedResponse(f"envelope status is {status!r}")

    def ping(self) -> str | None:
        """None when the server accepts the credentials (Koito's start-up check), else why not."""
        try:
            self._call("ping", {})
        except (HttpFailure, MalformedResponse, SubsonicError) as exc:
            return f"{self.name}: ping failed: {getattr(exc, 'reason', exc)}"
        return None

    def _search(self, query: str, *, albums: int = 0, artists: int = 0) -> dict[str, list[Any]]:
        params: dict[str, str | int] = {
            "query": query,
            "artistCount": artists,
            "albumCount": albums,
            "songCount": 0,
        }
        result = self._call("search3", params).get("searchResult3")
        if result is None:
            return {}
        if not isinstance(result, dict):
            raise MalformedResponse("'searchResult3' is not an object")
        lists = {}
        for key in ("album", "artist"):
            items = result.get(key, [])  # empty lists are left out entirely
            if not isinstance(items, list):
                raise MalformedResponse(f"'searchResult3.{key}' is not a list")
            lists[key] = [item for item in items if isinstance(item, dict)]
        return lists

    def _guarded(self, lookup: Any) -> ProviderOutcome:
        """Run ``lookup`` and turn every way of failing into a failed outcome."""
        if self.disabled_reason:
            return ProviderOutcome.failed(self.name, self.disabled_reason, transient=False)
        try:
            return lookup()
        except HttpFailure as exc:
            return ProviderOutcome.failed(self.name, exc.reason, transient=exc.transient)
        except MalformedResponse as exc:
            return ProviderOutcome.failed(
                self.name, f"{self.name}: malformed: {exc}", transient=False
            )
        except SubsonicError as exc:
            if exc.code in FATAL_CODES:
                self.disabled_reason = f"{self.name}: server refused the client ({exc})"
                return ProviderOutcome.failed(self.name, self.disabled_reason, transient=False)
            return ProviderOutcome.failed(
                self.name, f"{self.name}: {exc}", transient=exc.code != NOT_FOUND
            )

    def _cover_outcome(self, album: dict[str, Any]) -> ProviderOutcome | None:
        url = self._url("getCoverArt", {"id": str(album["coverArt"])})
        check = self._covers.check(url)
        if check.ok:
            return ProviderOutcome.found(self.name, url)
        if check.transient:
            return ProviderOutcome.failed(self.name, check.reason)
        return None

    def find_album(self, query: AlbumQuery) -> ProviderOutcome:
        """By release MBID (when real), then by title with an exact artist match."""
        return self._guarded(lambda: self._find_album(query))

    def _find_album(self, query: AlbumQuery) -> ProviderOutcome:
        title = query.title.strip()
        artists = {name.strip() for name in query.artist_names if name.strip()}
        mbid = real_mbid(query.release_mbid)
        if mbid is None and not (title and artists):
            return ProviderOutcome.skipped(self.name, "no release MBID, no title and artist")
        if mbid is not None:
            for album in self._search(mbid, albums=10)["album"]:
                # A server without MBID search runs a text search: trust a listed MBID only.
                listed = album.get("musicBrainzId")
                if album.get("coverArt") and (listed is None or str(listed).lower() == mbid):
                    outcome = self._cover_outcome(album)
                    if outcome is not None:
                        return outcome
                    break
        if not (title and artists):
            return ProviderOutcome.miss(self.name, "no album with this MBID")
        albums = self._search(title, albums=10)["album"]
        # Koito: the artist must be exactly one of ours. Among those, an exact title comes first.
        credited = [a for a in albums if a.get("artist") in artists and a.get("coverArt")]
        credited.sort(
            key=lambda a: not (isinstance(a.get("name"), str) and same_name(a["name"], title))
        )
        for album in credited:
            outcome = self._cover_outcome(album)
            if outcome is not None:
                return outcome
        return ProviderOutcome.miss(self.name, "no album by these artists")

    def find_artist(self, names: Sequence[str], mbid: str | None = None) -> ProviderOutcome:
        """``artistImageUrl`` of an artist named like the first name (Koito uses ``aliases[0]``)."""
        candidates = unique_names(names)
        if not candidates:
            return ProviderOutcome.skipped(self.name, "no artist name")
        return self._guarded(lambda: self._find_artist(candidates[0]))

    def _find_artist(self, name: str) -> ProviderOutcome:
        for artist in self._search(name, artists=5)["artist"]:
            url = artist.get("artistImageUrl")
            if not (isinstance(artist.get("name"), str) and same_name(artist["name"], name)):
                continue
            if not isinstance(url, str) or not url:
                continue
            check = self._images.check(url)
            if check.ok:
                return ProviderOutcome.found(self.name, url)
            if check.transient:
                return ProviderOutcome.failed(self.name, check.reason)
        return ProviderOutcome.miss(self.name, "no artist with that name and an image")
