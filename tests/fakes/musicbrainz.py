"""A fake MusicBrainz WS/2 server speaking the real JSON shapes (docs/external-apis.md §1).

Register entities, then point a client at :attr:`FakeMusicBrainz.url`::

    mb.add_artist("0a1b2c3d-...", "Kaze no Oto", [MbAlias("風の音", locale="ja", primary=True)])
    mb.add_release("5e00...", "First Light", [MbCredit("Ada", " feat. "), MbCredit("B. Sample")])
    mb.add_release_group("9a00...", "始まりの光", [MbGroupRelease("5e00...b", "始まりの光")])
    mb.add_recording("7c00...", "Opening Theme", 215000)

Unknown MBIDs get 404 with ``{"error", "help"}``; a non-UUID gets 400. Reserved MBIDs
``00000000-0000-4000-8000-000000000NNN`` (NNN in 400-599) always answer status NNN. Failures
are scripted with :meth:`~tests.fakes.server.FakeServer.script`, ``fail_next`` and ``slow_next``
(e.g. ``mb.fail_next("/ws/2/artist/", 1, 429, retry_after=1)``), or with :meth:`add_raw` for
malformed bodies. :meth:`enforce_rate_limit` makes it answer 503 to requests that come too soon,
as musicbrainz.org does; :attr:`rate_limited` counts those refusals.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from tests.fakes.server import FakeServer, LoggedRequest, Reply

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RESERVED_STATUS_RE = re.compile(r"^00000000-0000-4000-8000-000000000([45]\d\d)$")
_PATH_RE = re.compile(r"^/ws/2/(artist|release|release-group|recording)/([^/]+)$")
HELP = "For usage, please see: https://musicbrainz.org/development/mmd"


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


class FakeMusicBrainz(FakeServer):
    """MusicBrainz's /ws/2 artist, release, release-group and recording lookups."""

    def __init__(self) -> None:
        super().__init__()
        self._entities: dict[tuple[str, str], dict[str, Any]] = {}
        self._raw: dict[tuple[str, str], Reply] = {}
        self._min_interval_s: float | None = None
        self._last_request_at: float | None = None
        self._rate_lock = threading.Lock()
        self.rate_limited = 0  # requests refused by enforce_rate_limit()

    # -- registering entities --------------------------------------------------------------
    def add_artist(
        self,
        mbid: str,
        name: str,
        aliases: list[MbAlias] | tuple[MbAlias, ...] = (),
        type: str = "Group",
    ) -> None:
        """An artist; ``aliases`` are served only when the request asks ``inc=aliases``."""
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

    def add_release(
        self,
        mbid: str,
        title: str,
        credits: list[MbCredit] | tuple[MbCredit, ...] = (),
        status: str | None = "Official",
        script: str | None = "Latn",
        language: str | None = "eng",
    ) -> None:
        """A release; ``artist-credit`` is served only with ``inc=artists`` (or artist-credits)."""
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

    def add_release_group(
        self,
        mbid: str,
        title: str,
        releases: list[MbGroupRelease] | tuple[MbGroupRelease, ...] = (),
        credits: list[MbCredit] | tuple[MbCredit, ...] = (),
        primary_type: str | None = "Album",
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

    def add_recording(self, mbid: str, title: str, length_ms: int | None) -> None:
        """A recording; ``length_ms=None`` is served as ``"length": null`` (unknown)."""
        self._entities[("recording", mbid)] = {
            "id": mbid,
            "title": title,
            "length": length_ms,
            "disambiguation": "",
            "video": False,
            "artist-credit": [],
        }

    def add_raw(self, entity: str, mbid: str, reply: Reply) -> None:
        """Always answer ``/ws/2/{entity}/{mbid}`` with ``reply`` (truncated JSON, HTML, ...)."""
        self._raw[(entity, mbid)] = reply

    def enforce_rate_limit(self, min_interval_s: float = 1.0) -> None:
        """Answer 503 to any request less than ``min_interval_s`` after the previous one."""
        self._min_interval_s = min_interval_s

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
        if self._too_soon(request):
            return Reply.busy(503)
        match = _PATH_RE.match(request.path)
        if match is None or request.method not in ("GET", "HEAD"):
            return Reply.json({"error": "Not Found", "help": HELP}, 404)
        entity, mbid = match.groups()
        if not UUID_RE.match(mbid):
            return Reply.json({"error": "Invalid mbid.", "help": HELP}, 400)
        reserved = RESERVED_STATUS_RE.match(mbid)
        if reserved:
            status = int(reserved.group(1))
            return Reply.json({"error": f"status {status}", "help": HELP}, status)
        if (entity, mbid) in self._raw:
            return self._raw[(entity, mbid)]
        body = self._entities.get((entity, mbid))
        if body is None:
            return Reply.json({"error": "Not Found", "help": HELP}, 404)
        body = _only_requested(entity, body, _inc(request))
        if _wants_json(request):
            return Reply.json(body)
        return Reply.text(_xml(entity, body), content_type="application/xml")


def _inc(request: LoggedRequest) -> set[str]:
    # parse_qs has turned '+' and %20 into spaces; a literal %2B arrives as '+'.
    return set(re.split(r"[ +]", request.param("inc") or "")) - {""}


def _only_requested(entity: str, body: dict[str, Any], inc: set[str]) -> dict[str, Any]:
    """Drop the sub-lists the request did not ask for, as MusicBrainz does."""
    body = dict(body)
    wants_credits = bool(inc & {"artists", "artist-credits"})
    if entity == "artist" and "aliases" not in inc:
        body.pop("aliases")
    if entity in ("release", "release-group", "recording") and not wants_credits:
        body.pop("artist-credit")
    if entity == "release-group" and "releases" not in inc:
        body.pop("releases")
    return body


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
