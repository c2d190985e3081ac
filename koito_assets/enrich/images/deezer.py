"""Deezer: artist pictures and album covers by name search (Koito's rules, minus its bugs).

Differences from Koito, on purpose: an alias with no results moves on to the next alias
instead of ending the search; the error envelope (sent with HTTP 200) is read instead of being
taken for "no results"; empty-hash placeholder pictures are not images; an album must be
credited to one of the asked artists, not only share the title.
"""

from __future__ import annotations

import re
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
from koito_assets.enrich.images.matching import ascii_first, same_name, unique_names
from koito_assets.enrich.images.result import AlbumQuery, ProviderOutcome, combine
from koito_assets.enrich.images.validate import ImageValidator

# Deezer serves a generic silhouette for entities without a picture: the hash segment is empty.
_PLACEHOLDER = re.compile(r"/images/(artist|cover)//")
BUSY_CODES = frozenset({4, 700})  # quota exceeded, service busy: wait and retry
NO_RESULT_CODES = frozenset({600, 800})  # invalid query, no data: nothing to find


def _error_code(body: Any) -> int | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, int) else -1
    return None


def _is_busy(response: requests.Response) -> bool:
    return response.status_code == 200 and _error_code(json_or_none(response)) in BUSY_CODES


def _quoted(value: str) -> str:
    # The advanced syntax has no escape for '"': drop it rather than break the query.
    return '"' + value.replace('"', " ").strip() + '"'


def usable_picture(url: Any) -> bool:
    """A non-empty URL that is not Deezer's empty-hash placeholder."""
    return isinstance(url, str) and bool(url) and not _PLACEHOLDER.search(url)


class Deezer:
    """``/search/artist`` and ``/search/album`` under Deezer's quota (5 req/s, burst 5)."""

    name = "deezer"

    def __init__(
        self,
        base_url: str,
        images: ImageValidator,
        *,
        policy: HttpPolicy = DEFAULT_POLICY,
        rate_per_s: float = 5.0,
    ) -> None:
        # 5/s with burst 5 is at most 30 requests in any 5 s, under Deezer's 50.
        self.service = HttpService(
            self.name, base_url, rate_per_s=rate_per_s, burst=5, policy=policy
        )
        self._images = images

    def _search(self, kind: str, q: str) -> list[Any]:
        """One search page's ``data``; raises HttpFailure or MalformedResponse."""
        response = self.service.request(
            "GET", f"/search/{kind}", params={"q": q}, retry_if=_is_busy
        )
        if response.status_code != 200:
            # Deezer's API answers 200 even for errors; 403 and 5xx come from its CDN and pass.
            status = response.status_code
            raise HttpFailure(
                f"{self.name}: HTTP {status}", transient=status == 403 or status >= 500
            )
        body = read_json(response)
        code = _error_code(body)
        if code in NO_RESULT_CODES:
            return []
        if code is not None:
            message = body["error"].get("message", "")
            raise HttpFailure(
                f"{self.name}: API error {code} {message}".rstrip(), transient=code in BUSY_CODES
            )
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise MalformedResponse("search result has no 'data' list")
        return body["data"]

    def _first_valid(self, candidates: list[str], failures: list[ProviderOutcome]) -> str | None:
        for url in candidates:
            check = self._images.check(url)
            if check.ok:
                return url
            if check.transient:
                failures.append(ProviderOutcome.failed(self.name, check.reason))
        return None

    def _run(self, kind: str, q: str, pick: Any, failures: list[ProviderOutcome]) -> str | None:
        """Search, choose candidate URLs with ``pick``, and return the first that is an image."""
        try:
            data = self._search(kind, q)
        except HttpFailure as exc:
            failures.append(ProviderOutcome.failed(self.name, exc.reason, transient=exc.transient))
            return None
        except MalformedResponse as exc:
            failures.append(
                ProviderOutcome.failed(self.name, f"{self.name}: malformed: {exc}", transient=False)
            )
            return None
        return self._first_valid(pick(data), failures)

    def find_artist(self, names: Sequence[str], mbid: str | None = None) -> ProviderOutcome:
        """``picture_xl`` of the first result named like an alias (ASCII aliases first)."""
        aliases = ascii_first(unique_names(names))
        if not aliases:
            return ProviderOutcome.skipped(self.name, "no artist name")
        failures: list[ProviderOutcome] = []
        for alias in aliases:

            def pick(data: list[Any], alias: str = alias) -> list[str]:
                return [
                    entry["picture_xl"]
                    for entry in data
                    if isinstance(entry, dict)
                    and isinstance(entry.get("name"), str)
                    and same_name(entry["name"], alias)
                    and usable_picture(entry.get("picture_xl"))
                ]

            url = self._run("artist", f"artist:{_quoted(alias)}", pick, failures)
            if url is not None:
                return ProviderOutcome.found(self.name, url)
        return combine(self.name, None, failures, "no artist with that name and a picture")

    def find_album(self, query: AlbumQuery) -> ProviderOutcome:
        """The ``cover_xl`` of an album titled like the query and credited to one of its artists.

        Queries each artist with the title, then the title alone (Koito's order).
        """
        title = query.title.strip()
        if not title:
            return ProviderOutcome.skipped(self.name, "no album title")
        artists = unique_names(query.artist_names)

        def pick(data: list[Any]) -> list[str]:
            urls = []
            for entry in data:
                if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
                    continue
                artist = entry.get("artist")
                artist_name = artist.get("name") if isinstance(artist, dict) else None
                credited = not artists or (
                    isinstance(artist_name, str) and any(same_name(artist_name, a) for a in artists)
                )
                if (
                    same_name(entry["title"], title)
                    and credited
                    and usable_picture(entry.get("cover_xl"))
                ):
                    urls.append(entry["cover_xl"])
            return urls

        failures: list[ProviderOutcome] = []
        queries = [f"artist:{_quoted(a)} album:{_quoted(title)}" for a in artists]
        queries.append(f"album:{_quoted(title)}")
        for q in queries:
            url = self._run("album", q, pick, failures)
            if url is not None:
                return ProviderOutcome.found(self.name, url)
        return combine(self.name, None, failures, "no album with that title and artist")
