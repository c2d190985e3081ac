"""What the catalog asks MusicBrainz: the interface, its HTTP client, its off switch.

Koito's questions and fallbacks: docs/koito-reference.md §2.12; the requests and answers:
docs/external-apis.md §1.

The catalog depends only on :class:`MusicBrainz`; any :class:`MusicBrainzError` means "not
reachable" and the catalog falls back exactly as Koito does when its caller fails.

Besides the one-MBID lookups Koito makes, :class:`HttpMusicBrainz` answers many MBIDs of one
kind per request with a search by id list (``rid:(A OR B …)``, 100 a page); the parsers below
read a search item and a lookup body into the same answer, so the rules cannot tell them apart.
A release group's titles come from a browse of its releases, which lists them all (a lookup with
``inc=releases`` lists at most 25; Koito reads those 25, we read every one, deliberately).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from koito_assets.enrich.http import (
    HttpFailure,
    HttpPolicy,
    HttpService,
    MalformedResponse,
    read_json,
    user_agent,
)

if TYPE_CHECKING:
    from koito_assets.settings import Settings

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# The four questions the rules ask, by the entity MusicBrainz answers them with.
ARTIST, RELEASE, RELEASE_GROUP, RECORDING = "artist", "release", "release-group", "recording"
KINDS = (ARTIST, RELEASE, RELEASE_GROUP, RECORDING)

# MusicBrainz pages hold at most 100 items; 100 ids joined by " OR " keep the URL near 4 KB,
# well within what the server accepts (200 ids have been reported to get HTTP 414).
PAGE_SIZE = 100
MAX_PAGES = 100  # a server that keeps promising more pages is not followed forever

# Search index id fields (Lucene) and the list each search answer holds.
SEARCH_FIELD = {ARTIST: "arid", RELEASE: "reid", RELEASE_GROUP: "rgid", RECORDING: "rid"}
SEARCH_LIST = {
    ARTIST: "artists",
    RELEASE: "releases",
    RELEASE_GROUP: "release-groups",
    RECORDING: "recordings",
}


class MusicBrainzError(RuntimeError):
    """MusicBrainz did not give an answer (disabled, unreachable, 4xx/5xx, malformed body)."""


class MusicBrainzNotFound(MusicBrainzError):
    """MusicBrainz answered 404: no entity has this MBID. Final, unlike being busy."""


class MusicBrainzUnreachable(MusicBrainzError):
    """MusicBrainz was never heard from: connection refused, DNS failure or a timeout."""

    def __init__(self, message: str, network: str) -> None:
        super().__init__(message)
        self.network = network  # "connect" or "timeout"


class MbArtist(NamedTuple):
    name: str
    aliases: tuple[str, ...]  # name first, then each primary alias not already listed


class MbRelease(NamedTuple):
    title: str
    artist_credit_names: tuple[str, ...]
    release_group_id: str | None = None  # when the answer names it (lookups ask for it)


class MbRecording(NamedTuple):
    title: str
    length_ms: int  # 0 when unknown


Answer = MbArtist | MbRelease | MbRecording | tuple[str, ...]  # a group's answer: its titles


class MusicBrainz(Protocol):
    def artist(self, mbid: str) -> MbArtist: ...

    def release(self, mbid: str) -> MbRelease: ...

    def release_group_titles(self, mbid: str) -> tuple[str, ...]: ...

    def recording(self, mbid: str) -> MbRecording: ...


@runtime_checkable
class BulkMusicBrainz(MusicBrainz, Protocol):
    """A :class:`MusicBrainz` that also answers many MBIDs of one kind in one go."""

    def search(self, kind: str, mbids: Iterable[str]) -> dict[str, Answer]: ...


def ask_one(musicbrainz: MusicBrainz, kind: str, mbid: str) -> Answer:
    """The lookup that answers question ``kind`` about ``mbid``."""
    calls: dict[str, Callable[[str], Answer]] = {
        ARTIST: musicbrainz.artist,
        RELEASE: musicbrainz.release,
        RELEASE_GROUP: musicbrainz.release_group_titles,
        RECORDING: musicbrainz.recording,
    }
    return calls[kind](mbid)


class DisabledMusicBrainz:
    """KOITO_DISABLE_MUSICBRAINZ: every call fails, like Koito's MbzErrorCaller; no network."""

    def _fail(self, *_args: object) -> None:
        raise MusicBrainzError("MusicBrainz is disabled (KOITO_DISABLE_MUSICBRAINZ=true)")

    artist = release = release_group_titles = recording = _fail  # type: ignore[assignment]


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]`` when it has the documented type; anything else is a malformed body."""
    if not isinstance(obj, dict) or key not in obj:
        raise MalformedResponse(f"{where}: missing {key!r}")
    value = obj[key]
    # bool is an int in Python, but never a valid length or count here.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise MalformedResponse(f"{where}: {key!r} has type {type(value).__name__}")
    return value


def _optional_list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    """A list that MusicBrainz may leave out or send as null; treated as empty then."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"{where}: {key!r} is not a list")
    return value


def parse_artist(body: Any) -> MbArtist:
    """Name followed by every primary alias not already listed (Koito's GetArtistPrimaryAliases).

    Reads a lookup (``inc=aliases``) and a search item alike: search sends ``primary`` as true
    or null, a lookup as true, false or null; only a literal true counts in both.
    """
    name = _field(body, "name", str, "artist")
    names = [name]
    for alias in _optional_list(body, "aliases", "artist"):
        alias_name = _field(alias, "name", str, "artist alias")
        if alias.get("primary") is True and alias_name not in names:
            names.append(alias_name)
    return MbArtist(name=name, aliases=tuple(names))


def _credited_name(credit: Any) -> str:
    """The name as credited. Search answers leave it out when it equals the artist's own name."""
    if isinstance(credit, dict) and "name" not in credit and isinstance(credit.get("artist"), dict):
        return _field(credit["artist"], "name", str, "release artist-credit artist")
    return _field(credit, "name", str, "release artist-credit")


def parse_release(body: Any) -> MbRelease:
    """Release title, the names as credited (in credit order) and its release group's id."""
    title = _field(body, "title", str, "release")
    credits = _optional_list(body, "artist-credit", "release")
    names = tuple(_credited_name(credit) for credit in credits)
    group = body.get("release-group")
    group_id = group.get("id") if isinstance(group, dict) else None
    return MbRelease(
        title=title,
        artist_credit_names=names,
        release_group_id=group_id.lower() if isinstance(group_id, str) else None,
    )


def release_titles(releases: Iterable[Any], where: str) -> list[str]:
    """The titles of a list of releases, in order."""
    return [_field(release, "title", str, where) for release in releases]


def distinct(titles: Iterable[str]) -> tuple[str, ...]:
    """Titles without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(titles))


def parse_release_group_titles(body: Any) -> tuple[str, ...]:
    """Distinct titles of the group's releases, in response order (a lookup or a search item)."""
    _field(body, "title", str, "release-group")
    releases = _optional_list(body, "releases", "release-group")
    return distinct(release_titles(releases, "release-group release"))


def _length(body: dict[str, Any], where: str) -> int:
    length = body.get("length")
    if length is None:
        return 0
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise MalformedResponse(f"{where}: 'length' is not a duration in ms ({length!r})")
    return length


def parse_recording(body: Any) -> MbRecording:
    """Recording title and length in milliseconds; an unknown (null) length becomes 0."""
    title = _field(body, "title", str, "recording")
    if not isinstance(body, dict) or "length" not in body:
        raise MalformedResponse("recording: missing 'length'")
    return MbRecording(title=title, length_ms=_length(body, "recording"))


def parse_recording_item(body: Any) -> MbRecording:
    """A recording as a search lists it: the same, except that an unknown length is left out."""
    title = _field(body, "title", str, "recording")
    return MbRecording(title=title, length_ms=_length(body, "recording"))


SEARCH_PARSERS: dict[str, Callable[[Any], Answer]] = {
    ARTIST: parse_artist,
    RELEASE: parse_release,
    RELEASE_GROUP: parse_release_group_titles,
    RECORDING: parse_recording_item,
}


def is_mbid(value: str) -> bool:
    return bool(_UUID.match(value))


class HttpMusicBrainz:
    """MusicBrainz WS/2 client: lookups, id-list searches and browses under one shared rate
    limit, safe across threads. ``requests_sent`` counts the requests it made (not retries)."""

    def __init__(
        self,
        base_url: str,
        rate_limit_per_s: float,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        user_agent: str | None = None,
        *,
        backoff_s: float = 1.0,
        max_retry_after_s: float = 120.0,
        network_retries: int = 1,
    ) -> None:
        policy = HttpPolicy(
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_s=backoff_s,
            max_retry_after_s=max_retry_after_s,
            network_retries=network_retries,
        )
        # Burst 1: MusicBrainz counts requests per second, so a burst would earn 503s.
        self._service = HttpService(
            "MusicBrainz",
            base_url,
            rate_per_s=rate_limit_per_s,
            burst=1,
            policy=policy,
            user_agent_value=user_agent,
        )
        self.base_url = self._service.base_url
        self._sent_lock = threading.Lock()
        self.requests_sent = 0

    def _get(self, path: str, params: Mapping[str, str | int], what: str) -> Any:
        """GET a JSON body; any way of not getting one is a MusicBrainzError (404: NotFound)."""
        with self._sent_lock:
            self.requests_sent += 1
        try:
            response = self._service.request("GET", path, params={**params, "fmt": "json"})
        except HttpFailure as exc:
            if exc.network is not None:
                raise MusicBrainzUnreachable(f"{what}: {exc.reason}", exc.network) from None
            raise MusicBrainzError(f"{what}: {exc.reason}") from None
        if response.status_code == 404:
            raise MusicBrainzNotFound(f"{what}: not found")
        if not 200 <= response.status_code < 300:
            raise MusicBrainzError(f"{what}: HTTP {response.status_code}")
        try:
            return read_json(response)
        except MalformedResponse as exc:
            raise MusicBrainzError(f"{what}: {exc}") from None

    def _lookup(self, entity: str, mbid: str, inc: tuple[str, ...], parse: Any) -> Any:
        """GET /ws/2/{entity}/{mbid}, parsed; a merged MBID is followed to the surviving entity."""
        what = f"MusicBrainz {entity} {mbid}"
        # A non-UUID would get a 400 anyway; refusing it here also keeps it out of the URL path.
        if not is_mbid(mbid):
            raise MusicBrainzError(f"{what}: not an MBID")
        params = {"inc": " ".join(inc)} if inc else {}  # requests encodes the space as '+'
        body = self._get(f"/ws/2/{entity}/{mbid}", params, what)
        try:
            return parse(body)
        except MalformedResponse as exc:
            raise MusicBrainzError(f"{what}: {exc}") from None

    def _pages(self, path: str, params: Mapping[str, str], items: str, count: str, what: str):
        """Every item of a paged list (search or browse), following ``offset`` to the end."""
        offset = 0
        for _ in range(MAX_PAGES):
            body = self._get(path, {**params, "limit": PAGE_SIZE, "offset": offset}, what)
            try:
                page = _field(body, items, list, what)
                total = _field(body, count, int, what)
            except MalformedResponse as exc:
                raise MusicBrainzError(f"{what}: {exc}") from None
            yield from page
            offset += len(page)
            if not page or offset >= total:
                return
        raise MusicBrainzError(f"{what}: more than {MAX_PAGES} pages")

    def artist(self, mbid: str) -> MbArtist:
        """The artist's name and primary aliases."""
        return self._lookup(ARTIST, mbid, ("aliases",), parse_artist)

    def release(self, mbid: str) -> MbRelease:
        """The release's title, credited artist names and release group."""
        return self._lookup(RELEASE, mbid, ("artists", "release-groups"), parse_release)

    def release_group_titles(self, mbid: str) -> tuple[str, ...]:
        """The distinct titles of every release of the group, from a browse of its releases."""
        what = f"MusicBrainz release-group {mbid} releases"
        if not is_mbid(mbid):
            raise MusicBrainzError(f"{what}: not an MBID")
        releases = self._pages(
            "/ws/2/release", {"release-group": mbid}, "releases", "release-count", what
        )
        try:
            return distinct(release_titles(releases, "release-group release"))
        except MalformedResponse as exc:
            raise MusicBrainzError(f"{what}: {exc}") from None

    def recording(self, mbid: str) -> MbRecording:
        """The recording's title and length."""
        return self._lookup(RECORDING, mbid, (), parse_recording)

    def search(self, kind: str, mbids: Iterable[str]) -> dict[str, Answer]:
        """Answers for up to 100 MBIDs of one kind, from one search by id list (paged).

        Only the MBIDs the search index holds are answered: one merged into another entity, or
        too new for the index, is left out, and only a lookup can answer it. A failed request
        raises MusicBrainzError; an item that cannot be read is left out, like a missing one.
        """
        wanted = list(dict.fromkeys(m.lower() for m in mbids if is_mbid(m)))
        if len(wanted) > PAGE_SIZE:
            raise ValueError(f"at most {PAGE_SIZE} MBIDs per search")
        if not wanted:
            return {}
        what = f"MusicBrainz {kind} search ({len(wanted)} MBIDs)"
        query = f"{SEARCH_FIELD[kind]}:({' OR '.join(wanted)})"
        items = self._pages(f"/ws/2/{kind}", {"query": query}, SEARCH_LIST[kind], "count", what)
        parse, asked = SEARCH_PARSERS[kind], set(wanted)
        answers: dict[str, Answer] = {}
        for item in items:
            found = item.get("id") if isinstance(item, dict) else None
            if not isinstance(found, str) or found.lower() not in asked:
                continue
            try:
                answers[found.lower()] = parse(item)
            except MalformedResponse:
                continue  # asked again by lookup
        return answers


def musicbrainz_from_settings(settings: Settings, **tuning: Any) -> MusicBrainz:
    """The caller the settings ask for; ``tuning`` goes to :class:`HttpMusicBrainz`."""
    if settings.disable_musicbrainz:
        return DisabledMusicBrainz()
    tuning.setdefault("user_agent", user_agent(settings.user_agent_contact))
    return HttpMusicBrainz(settings.musicbrainz_url, settings.musicbrainz_rate_limit, **tuning)
