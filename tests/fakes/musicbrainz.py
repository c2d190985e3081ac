"""A fake MusicBrainz WS/2 server: lookups, searches and browses in their real JSON shapes
(docs/external-apis.md §1).

Register entities, then point a client at :attr:`FakeMusicBrainz.url`::

    mb.add_artist("0a1b2c3d-...", "Kaze no Oto", [MbAlias("風の音", locale="ja", primary=True)])
    mb.add_release("5e00...", "First Light", [MbCredit("Ada", " feat. ")], release_group="9a00...")
    mb.add_release_group("9a00...", "始まりの光", [MbGroupRelease("5e00...b", "始まりの光")])
    mb.add_recording("7c00...", "Opening Theme", 215000)

It serves the three request kinds MusicBrainz has, and :meth:`request_counts` counts them:

- **lookups** ``/ws/2/{entity}/{mbid}?inc=…``: sub-lists only when asked for, at most 25 linked
  releases (MusicBrainz's cap), ``301`` to the surviving entity for a merged MBID (:meth:`merge`);
- **searches** ``/ws/2/{entity}?query=field:(A OR B …)&limit=&offset=`` on the id fields
  ``arid`` (artists), ``reid``/``rgid`` (releases), ``rgid``/``reid`` (release groups) and ``rid``
  (recordings), paged (``limit`` 1–100, anything else 25), in the search answers' own shapes:
  aliases' ``primary`` true or null, a credit's ``name`` only when it differs from the artist's,
  ``joinphrase`` only when not empty, an unknown recording length left out. Merged MBIDs and
  entities added with ``indexed=False`` are not found, as the real index does not know them;
- **browses** ``/ws/2/release?release-group={mbid}&limit=&offset=``: every release of a group,
  paged, with ``release-count`` and ``release-offset``; a merged group id is followed silently.

Unknown MBIDs get 404 with ``{"error", "help"}``; a non-UUID gets 400. Reserved MBIDs
``00000000-0000-4000-8000-000000000NNN`` (NNN in 400-599) always answer status NNN. Failures
are scripted with :meth:`~tests.fakes.server.FakeServer.script`, ``fail_next`` and ``slow_next``
(e.g. ``mb.fail_next("/ws/2/artist/", 1, 429, retry_after=1)``), :meth:`fail_searches` (every
search answers 503 until called with None), or with :meth:`add_raw` for malformed lookup
bodies. :meth:`enforce_rate_limit` makes it answer 503 to requests that come too soon, as
musicbrainz.org does; :attr:`rate_limited` counts those refusals. :attr:`latency_s` delays
every answer.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from tests.fakes.server import FakeServer, LoggedRequest, Reply

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RESERVED_STATUS_RE = re.compile(r"^00000000-0000-4000-8000-000000000([45]\d\d)$")
ENTITIES = ("artist", "release", "release-group", "recording")
_LOOKUP_RE = re.compile(r"^/ws/2/(artist|release|release-group|recording)/([^/]+)$")
_COLLECTION_RE = re.compile(r"^/ws/2/(artist|release|release-group|recording)/?$")
_QUERY_RE = re.compile(r"^\s*(\w+):(?:\((.*)\)|\"?([0-9a-fA-F-]+)\"?)\s*$", re.S)
HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
LOOKUP_LIST_CAP = 25  # linked entities a lookup lists ("use a browse request" for the rest)
PLURAL = {
    "artist": "artists",
    "release": "releases",
    "release-group": "release-groups",
    "recording": "recordings",
}


@dataclass(frozen=True)
class MbAlias:
    """An alias as MusicBrainz lists it; ``primary`` may be True, False or None (JSON null)."""

    name: str
    locale: str | None = None
    primary: bool | None = None
    type: str | None = "Artist name"


@dataclass(frozen=True)
class MbCredit:
    """One artist-credit entry: the name as credited, the join phrase, and the artist behind it."""

    name: str
    joinphrase: str = ""
    artist_id: str = "a0000000-0000-4000-8000-000000000001"
    artist_name: str | None = None  # defaults to the credited name


@dataclass(frozen=True)
class MbGroupRelease:
    """A release listed inside a release group."""

    id: str
    title: str
    status: str | None = "Official"
    script: str | None = "Latn"
    language: str | None = "eng"


def _credit_json(credits: list[MbCredit]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "joinphrase": c.joinphrase,
            "artist": {
                "id": c.artist_id,
                "name": c.artist_name or c.name,
                "sort-name": c.artist_name or c.name,
                "disambiguation": "",
            },
        }
        for c in credits
    ]


def _search_credits(credits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Credits as the search index writes them: name only when it differs, joinphrase if any."""
    out = []
    for credit in credits:
        item: dict[str, Any] = {"artist": dict(credit["artist"])}
        if credit["name"] != credit["artist"]["name"]:
            item["name"] = credit["name"]
        if credit["joinphrase"]:
            item["joinphrase"] = credit["joinphrase"]
        out.append(item)
    return out


def kind_of(request: LoggedRequest) -> str:
    """ "lookup", "search", "browse" or "other": which MusicBrainz request this is."""
    if _LOOKUP_RE.match(request.path):
        return "lookup"
    if _COLLECTION_RE.match(request.path):
        if request.param("query") is not None:
            return "search"
        if any(request.param(e) is not None for e in ENTITIES):
            return "browse"
    return "other"


class FakeMusicBrainz(FakeServer):
    """MusicBrainz's /ws/2 lookups, id-list searches and release browses."""

    def __init__(self) -> None:
        super().__init__()
        self._entities: dict[tuple[str, str], dict[str, Any]] = {}
        self._raw: dict[tuple[str, str], Reply] = {}
        self._merged: dict[tuple[str, str], str] = {}  # (entity, old MBID) → surviving MBID
        self._unindexed: set[tuple[str, str]] = set()
        self._group_of: dict[str, str] = {}  # release → its release group
        self._min_interval_s: float | None = None
        self._last_request_at: float | None = None
        self._rate_lock = threading.Lock()
        self._search_status: int | None = None
        self.rate_limited = 0  # requests refused by enforce_rate_limit()
        self.latency_s = 0.0  # every answer this late
        self.search_page_cap = 100  # most items a search page holds (musicbrainz.org: 100)

    # -- registering entities --------------------------------------------------------------
    def add_artist(
        self,
        mbid: str,
        name: str,
        aliases: list[MbAlias] | tuple[MbAlias, ...] = (),
        type: str = "Group",
        *,
        indexed: bool = True,
    ) -> None:
        """An artist; ``aliases`` are served by lookups only when asked (``inc=aliases``)."""
        self._entities[("artist", mbid)] = {
            "id": mbid,
            "name": name,
            "sort-name": name,
            "type": type,
            "disambiguation": "",
            "country": None,
            "aliases": [
                {
                    "name": a.name,
                    "sort-name": a.name,
                    "locale": a.locale,
                    "type": a.type,
                    # MusicBrainz sends null, never false, when the alias has no locale.
                    "primary": a.primary if a.locale is not None else None,
                    "begin": None,
                    "end": None,
                    "ended": False,
                }
                for a in aliases
            ],
        }
        self._index("artist", mbid, indexed)

    def add_release(
        self,
        mbid: str,
        title: str,
        credits: list[MbCredit] | tuple[MbCredit, ...] = (),
        status: str | None = "Official",
        script: str | None = "Latn",
        language: str | None = "eng",
        *,
        release_group: str | None = None,
        indexed: bool = True,
    ) -> None:
        """A release; ``artist-credit`` is served only with ``inc=artists`` (or artist-credits),
        its ``release-group`` with ``inc=release-groups`` and always in search answers."""
        self._entities[("release", mbid)] = {
            "id": mbid,
            "title": title,
            "status": status,
            "date": "2019-05-03",
            "country": None,
            "barcode": None,
            "text-representation": {"language": language, "script": script},
            "artist-credit": _credit_json(list(credits)),
        }
        if release_group is not None:
            self._group_of[mbid] = release_group
        self._index("release", mbid, indexed)

    def add_release_group(
        self,
        mbid: str,
        title: str,
        releases: list[MbGroupRelease] | tuple[MbGroupRelease, ...] = (),
        credits: list[MbCredit] | tuple[MbCredit, ...] = (),
        primary_type: str | None = "Album",
        *,
        indexed: bool = True,
    ) -> None:
        """A release group; ``releases`` and ``artist-credit`` are served only when requested."""
        self._entities[("release-group", mbid)] = {
            "id": mbid,
            "title": title,
            "primary-type": primary_type,
            "secondary-types": [],
            "first-release-date": "2019-05-03",
            "disambiguation": "",
            "artist-credit": _credit_json(list(credits)),
            "releases": [
                {
                    "id": r.id,
                    "title": r.title,
                    "status": r.status,
                    "date": "2019-05-03",
                    "text-representation": {"language": r.language, "script": r.script},
                }
                for r in releases
            ],
        }
        for r in releases:
            self._group_of.setdefault(r.id, mbid)
        self._index("release-group", mbid, indexed)

    def add_recording(
        self, mbid: str, title: str, length_ms: int | None, *, indexed: bool = True
    ) -> None:
        """A recording; ``length_ms=None`` is served as ``"length": null`` (unknown)."""
        self._entities[("recording", mbid)] = {
            "id": mbid,
            "title": title,
            "length": length_ms,
            "disambiguation": "",
            "video": False,
            "artist-credit": [],
        }
        self._index("recording", mbid, indexed)

    def _index(self, entity: str, mbid: str, indexed: bool) -> None:
        if indexed:
            self._unindexed.discard((entity, mbid))
        else:
            self._unindexed.add((entity, mbid))

    def merge(self, entity: str, old: str, into: str) -> None:
        """MusicBrainz merged ``old`` into ``into``: lookups answer 301, searches know only
        ``into``, browses follow silently."""
        self._entities.pop((entity, old), None)
        self._merged[(entity, old)] = into

    def add_raw(self, entity: str, mbid: str, reply: Reply) -> None:
        """Always answer ``/ws/2/{entity}/{mbid}`` with ``reply`` (truncated JSON, HTML, ...)."""
        self._raw[(entity, mbid)] = reply

    def enforce_rate_limit(self, min_interval_s: float = 1.0) -> None:
        """Answer 503 to any request less than ``min_interval_s`` after the previous one."""
        self._min_interval_s = min_interval_s

    def fail_searches(self, status: int | None = 503) -> None:
        """Every search answers ``status`` (a search server that is down); None: search again."""
        self._search_status = status

    def request_counts(self) -> Counter[str]:
        """Requests received so far, by kind: lookup, search, browse (and other)."""
        return Counter(kind_of(r) for r in self.requests)

    # -- serving ---------------------------------------------------------------------------
    def _too_soon(self, request: LoggedRequest) -> bool:
        with self._rate_lock:
            previous, self._last_request_at = self._last_request_at, request.time
            if self._min_interval_s is None or previous is None:
                return False
            if request.time - previous < self._min_interval_s:
                self.rate_limited += 1
                return True
            return False

    def route(self, request: LoggedRequest) -> Reply:
        reply = self._answer(request)
        return reply.with_delay(self.latency_s) if self.latency_s else reply

    def _answer(self, request: LoggedRequest) -> Reply:
        if self._too_soon(request):
            return Reply.busy(503)
        if request.method not in ("GET", "HEAD"):
            return _not_found()
        kind = kind_of(request)
        if kind == "lookup":
            return self._lookup(request)
        if kind == "search":
            return self._search(request)
        if kind == "browse":
            return self._browse(request)
        return _not_found()

    def _lookup(self, request: LoggedRequest) -> Reply:
        match = _LOOKUP_RE.match(request.path)
        assert match is not None
        entity, mbid = match.groups()
        if not UUID_RE.match(mbid):
            return _bad_request("Invalid mbid.")
        reserved = RESERVED_STATUS_RE.match(mbid)
        if reserved:
            status = int(reserved.group(1))
            return Reply.json({"error": f"status {status}", "help": HELP}, status)
        if (entity, mbid) in self._raw:
            return self._raw[(entity, mbid)]
        if (entity, mbid) in self._merged:
            target = f"/ws/2/{entity}/{self._merged[(entity, mbid)]}"
            query = f"?{request.raw_query}" if request.raw_query else ""
            return Reply.redirect(target + query, 301)
        body = self._entities.get((entity, mbid))
        if body is None:
            return _not_found()
        body = self._only_requested(entity, body, _inc(request))
        if _wants_json(request):
            return Reply.json(body)
        return Reply.text(_xml(entity, body), content_type="application/xml")

    def _only_requested(self, entity: str, body: dict[str, Any], inc: set[str]) -> dict[str, Any]:
        """Drop the sub-lists the request did not ask for, as MusicBrainz does."""
        body = dict(body)
        wants_credits = bool(inc & {"artists", "artist-credits"})
        if entity == "artist" and "aliases" not in inc:
            body.pop("aliases")
        if entity in ("release", "release-group", "recording") and not wants_credits:
            body.pop("artist-credit")
        if entity == "release-group":
            if "releases" in inc:
                body["releases"] = body["releases"][:LOOKUP_LIST_CAP]
            else:
                body.pop("releases")
        if entity == "release" and "release-groups" in inc:
            group = self._group_json(body["id"])
            if group is not None:
                body["release-group"] = group
        return body

    def _group_json(self, release: str) -> dict[str, Any] | None:
        group = self._group_of.get(release)
        if group is None:
            return None
        known = self._entities.get(("release-group", group), {})
        return {
            "id": group,
            "title": known.get("title", ""),
            "primary-type": known.get("primary-type"),
        }

    def _search(self, request: LoggedRequest) -> Reply:
        if self._search_status is not None:
            return Reply.busy(self._search_status)
        match = _COLLECTION_RE.match(request.path)
        assert match is not None
        entity = match.group(1)
        parsed = _QUERY_RE.match(request.param("query") or "")
        if parsed is None:
            return _bad_request("the fake understands only field:(A OR B …) queries")
        field, listed, single = parsed.groups()
        ids = {i.lower() for i in re.split(r"\s+OR\s+", listed.strip())} if listed else set()
        if single:
            ids.add(single.lower())
        hits = self._hits(entity, field, ids)
        if hits is None:
            return _bad_request(f"the fake does not search {entity} by {field}")
        limit, offset = _paging(request)
        page = hits[offset : offset + min(limit, self.search_page_cap)]
        return Reply.json(
            {
                "created": "2025-06-01T12:00:00.000Z",
                "count": len(hits),
                "offset": offset,
                PLURAL[entity]: [self._search_item(entity, mbid) for mbid in page],
            }
        )

    def _hits(self, entity: str, field: str, ids: set[str]) -> list[str] | None:
        """The indexed entities a query on ``field`` finds, in id order (scores are all 100)."""

        def indexed(mbids: set[str]) -> list[str]:
            return sorted(
                m
                for m in mbids
                if (entity, m) in self._entities and (entity, m) not in self._unindexed
            )

        if (entity, field) in (
            ("artist", "arid"),
            ("release", "reid"),
            ("release-group", "rgid"),
            ("recording", "rid"),
        ):
            return indexed(ids)
        if (entity, field) == ("release", "rgid"):
            return indexed({r for r, g in self._group_of.items() if g in ids})
        if (entity, field) == ("release-group", "reid"):
            return indexed({g for r, g in self._group_of.items() if r in ids})
        return None

    def _search_item(self, entity: str, mbid: str) -> dict[str, Any]:
        body = self._entities[(entity, mbid)]
        if entity == "artist":
            item = {k: body[k] for k in ("id", "type", "name", "sort-name")}
            item["score"] = 100
            if body["aliases"]:
                item["aliases"] = [
                    {
                        "sort-name": a["sort-name"],
                        "name": a["name"],
                        "locale": a["locale"],
                        "type": a["type"],
                        "primary": True if a["primary"] is True else None,
                        "begin-date": None,
                        "end-date": None,
                    }
                    for a in body["aliases"]
                ]
            return item
        if entity == "release":
            item = {k: body[k] for k in ("id", "title", "status", "text-representation")}
            item["score"] = 100
            item["artist-credit"] = _search_credits(body["artist-credit"])
            group = self._group_json(mbid)
            if group is not None:
                item["release-group"] = group
            return item
        if entity == "release-group":
            return {
                "id": mbid,
                "score": 100,
                "title": body["title"],
                "primary-type": body["primary-type"],
                "artist-credit": _search_credits(body["artist-credit"]),
                # every release of the group, with no cap, as the index stores them
                "releases": [
                    {"id": r["id"], "title": r["title"], "status": r["status"]}
                    for r in body["releases"]
                ],
            }
        item = {"id": mbid, "score": 100, "title": body["title"], "video": None}
        if body["length"] is not None:
            item["length"] = body["length"]
        return item

    def _browse(self, request: LoggedRequest) -> Reply:
        match = _COLLECTION_RE.match(request.path)
        assert match is not None
        group = request.param("release-group")
        if match.group(1) != "release" or group is None:
            return _bad_request("the fake browses only releases of a release group")
        if not UUID_RE.match(group):
            return _bad_request("Invalid mbid.")
        group = self._merged.get(("release-group", group), group)  # followed silently
        body = self._entities.get(("release-group", group))
        if body is None:
            return _not_found()
        limit, offset = _paging(request)
        releases = body["releases"]
        return Reply.json(
            {
                "release-count": len(releases),
                "release-offset": offset,
                "releases": [dict(r) for r in releases[offset : offset + limit]],
            }
        )

    def lookup_url(self, entity: str, mbid: str, **params: str) -> str:
        """The URL of a lookup, for tests that call the fake directly."""
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.url}/ws/2/{entity}/{mbid}{query}"


def _paging(request: LoggedRequest) -> tuple[int, int]:
    """MusicBrainz's limit (1–100; anything else, or none, is 25) and offset."""
    try:
        limit = int(request.param("limit") or "")
    except ValueError:
        limit = 25
    if not 1 <= limit <= 100:
        limit = 25
    try:
        offset = max(0, int(request.param("offset") or "0"))
    except ValueError:
        offset = 0
    return limit, offset


def _not_found() -> Reply:
    return Reply.json({"error": "Not Found", "help": HELP}, 404)


def _bad_request(message: str) -> Reply:
    return Reply.json({"error": message, "help": HELP}, 400)


def _inc(request: LoggedRequest) -> set[str]:
    # parse_qs has turned '+' and %20 into spaces; a literal %2B arrives as '+'.
    return set(re.split(r"[ +]", request.param("inc") or "")) - {""}


def _wants_json(request: LoggedRequest) -> bool:
    fmt = request.param("fmt")
    if fmt is not None:
        return fmt == "json"  # fmt wins over the Accept header
    return "application/json" in request.headers.get("accept", "")


def _xml(entity: str, body: dict[str, Any]) -> str:
    """MusicBrainz's default XML, reduced to the entity's id and name/title."""
    label = escape(str(body.get("name") or body.get("title")))
    tag = "name" if "name" in body else "title"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<metadata xmlns="http://musicbrainz.org/ns/mmd-2.0#">'
        f'<{entity} id="{body["id"]}"><{tag}>{label}</{tag}></{entity}></metadata>'
    )
