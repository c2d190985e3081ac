"""Last.fm: album covers (and, rarely, artist images) from ``album.getInfo`` / ``artist.getInfo``.

By MBID first when a real one is known (never the nil UUID, unlike Koito), then by name with
``autocorrect=1``. Last.fm's HTTP status is unreliable, so every body is read for an ``error``
number. An invalid or suspended key disables the provider for the rest of the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from koito_assets.enrich.http import (
    DEFAULT_POLICY,
    HttpFailure,
    HttpPolicy,
    HttpService,
    MalformedResponse,
    json_or_none,
    read_json,
)
from koito_assets.enrich.images.matching import real_mbid, unique_names
from koito_assets.enrich.images.result import AlbumQuery, Outcome, ProviderOutcome
from koito_assets.enrich.images.validate import ImageValidator

PLACEHOLDER_HASH = "2a96cbd8b46e442fc41c2b86b821562f"  # Last.fm's generic "no image" star
SIZE_ORDER = ("mega", "extralarge", "large", "medium", "small")
_PROBE_600 = frozenset({"mega", "extralarge", "large"})
NOT_FOUND = 6
BAD_KEY = frozenset({10, 26})  # invalid, suspended
BUSY = frozenset({8, 11, 16, 29})  # failure, offline, temporary, rate limit


def _error_of(body: Any) -> int | None:
    if isinstance(body, dict) and "error" in body:
        code = body["error"]
        return code if isinstance(code, int) and not isinstance(code, bool) else -1
    return None


def _is_busy(response: requests.Response) -> bool:
    return _error_of(json_or_none(response)) in BUSY


def candidate_urls(images: Any) -> list[str]:
    """URLs to try, best first: mega > extralarge > large (each 600x600 first) > medium > small."""
    if images is None:
        return []
    if not isinstance(images, list):
        raise MalformedResponse("'image' is not a list")
    by_size: dict[str, str] = {}
    for image in images:
        if not isinstance(image, dict):
            continue
        size, url = image.get("size"), image.get("#text")
        if size in SIZE_ORDER and isinstance(url, str) and url and PLACEHOLDER_HASH not in url:
            by_size.setdefault(size, url)
    candidates: list[str] = []
    for size in SIZE_ORDER:
        url = by_size.get(size)
        if url is None:
            continue
        if size in _PROBE_600 and "300x300" in url:
            candidates.append(url.replace("300x300", "600x600"))
        candidates.append(url)
    return list(dict.fromkeys(candidates))


class _Disabled(Exception):
    pass


class LastFm:
    """Last.fm's getInfo methods under 5 req/s; images must pass the image check."""

    name = "lastfm"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        images: ImageValidator,
        *,
        policy: HttpPolicy = DEFAULT_POLICY,
        rate_per_s: float = 5.0,
    ) -> None:
        base = base_url.rstrip("/")
        self._path = "/" if base.endswith("/2.0") else "/2.0/"
        self.service = HttpService(self.name, base, rate_per_s=rate_per_s, burst=5, policy=policy)
        self._api_key = api_key
        self._images = images
        self.disabled_reason: str | None = None  # set once Last.fm rejects the key

    def _get_info(self, method: str, key: str, params: dict[str, str]) -> dict[str, Any] | None:
        """The ``artist``/``album`` object, or None when Last.fm does not know it (error 6)."""
        if self.disabled_reason:
            raise _Disabled(self.disabled_reason)
        query = {"method": method, "api_key": self._api_key, "format": "json", **params}
        response = self.service.request("GET", self._path, params=query, retry_if=_is_busy)
        if response.status_code >= 500:
            raise HttpFailure(f"{self.name}: HTTP {response.status_code}", transient=True)
        body = read_json(response)
        code = _error_of(body)
        if code == NOT_FOUND:
            return None
        if code in BAD_KEY:
            self.disabled_reason = f"{self.name}: API key rejected (error {code})"
            raise _Disabled(self.disabled_reason)
        if code is not None:
            raise HttpFailure(f"{self.name}: API error {code}", transient=code in BUSY)
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise MalformedResponse(f"no {key!r} object")
        return body[key]

    def _image_of(self, method: str, key: str, params: dict[str, str]) -> ProviderOutcome | None:
        """Found or failed for one lookup; None means "nothing usable here, try the next one"."""
        try:
            entity = self._get_info(method, key, params)
            candidates = candidate_urls(entity.get("image")) if entity else []
        except _Disabled as exc:
            return ProviderOutcome.failed(self.name, str(exc), transient=False)
        except HttpFailure as exc:
            return ProviderOutcome.failed(self.name, exc.reason, transient=exc.transient)
        except MalformedResponse as exc:
            return ProviderOutcome.failed(
                self.name, f"{self.name}: malformed: {exc}", transient=False
            )
        failure = None
        for url in candidates:
            check = self._images.check(url)
            if check.ok:
                return ProviderOutcome.found(self.name, url)
            if check.transient and failure is None:
                failure = ProviderOutcome.failed(self.name, check.reason)
        return failure

    def _lookups(self, method: str, key: str, lookups: list[dict[str, str]]) -> ProviderOutcome:
        if not lookups:
            return ProviderOutcome.skipped(self.name, "no MBID and no name")
        failure = None
        for params in lookups:
            outcome = self._image_of(method, key, params)
            if outcome is None:
                continue
            if outcome.outcome is Outcome.FOUND or self.disabled_reason:
                return outcome  # a hit, or a rejected key the next lookup would hit again
            failure = failure or outcome  # Koito falls back to the names on any MBID failure
        return failure or ProviderOutcome.miss(self.name, "no usable image")

    def find_artist(self, names: Sequence[str], mbid: str | None = None) -> ProviderOutcome:
        """``artist.getInfo`` by MBID, then by the first name (Koito uses ``aliases[0]``)."""
        lookups = []
        if (real := real_mbid(mbid)) is not None:
            lookups.append({"mbid": real})
        if names := unique_names(names):
            lookups.append({"artist": names[0], "autocorrect": "1"})
        return self._lookups("artist.getInfo", "artist", lookups)

    def find_album(self, query: AlbumQuery) -> ProviderOutcome:
        """``album.getInfo`` by release MBID, then by first artist and title."""
        lookups = []
        if (real := real_mbid(query.release_mbid)) is not None:
            lookups.append({"mbid": real})
        artists = unique_names(query.artist_names)
        if artists and query.title.strip():
            lookups.append({"artist": artists[0], "album": query.title.strip(), "autocorrect": "1"})
        return self._lookups("album.getInfo", "album", lookups)
