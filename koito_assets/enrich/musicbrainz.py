"""What the catalog asks MusicBrainz: the interface, its HTTP client, its off switch.

Koito's questions and fallbacks: docs/koito-reference.md §2.12; the requests and answers:
docs/external-apis.md §1.

The catalog depends only on :class:`MusicBrainz`; any :class:`MusicBrainzError` means "not
reachable" and the catalog falls back exactly as Koito does when its caller fails.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

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


class MusicBrainzError(RuntimeError):
    """MusicBrainz did not give an answer (disabled, unreachable, 4xx/5xx, malformed body)."""


class MusicBrainzNotFound(MusicBrainzError):
    """MusicBrainz answered 404: no entity has this MBID. Final, unlike being busy."""


class MbArtist(NamedTuple):
    name: str
    aliases: tuple[str, ...]  # name first, then each primary alias not already listed


class MbRelease(NamedTuple):
    title: str
    artist_credit_names: tuple[str, ...]


class MbRecording(NamedTuple):
    title: str
    length_ms: int  # 0 when unknown


class MusicBrainz(Protocol):
    def artist(self, mbid: str) -> MbArtist: ...

    def release(self, mbid: str) -> MbRelease: ...

    def release_group_titles(self, mbid: str) -> tuple[str, ...]: ...

    def recording(self, mbid: str) -> MbRecording: ...


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
    """Name followed by every primary alias not already listed (Koito's GetArtistPrimaryAliases)."""
    name = _field(body, "name", str, "artist")
    names = [name]
    for alias in _optional_list(body, "aliases", "artist"):
        alias_name = _field(alias, "name", str, "artist alias")
        # primary is true, false or null; only a literal true counts.
        if alias.get("primary") is True and alias_name not in names:
            names.append(alias_name)
    return MbArtist(name=name, aliases=tuple(names))


def parse_release(body: Any) -> MbRelease:
    """Release title and the names as credited, in credit order."""
    title = _field(body, "title", str, "release")
    credits = _optional_list(body, "artist-credit", "release")
    names = tuple(_field(credit, "name", str, "release artist-credit") for credit in credits)
    return MbRelease(title=title, artist_credit_names=names)


def parse_release_group_titles(body: Any) -> tuple[str, ...]:
    """Distinct titles of the group's releases, in response order."""
    _field(body, "title", str, "release-group")
    titles: list[str] = []
    for release in _optional_list(body, "releases", "release-group"):
        title = _field(release, "title", str, "release-group release")
        if title not in titles:
            titles.append(title)
    return tuple(titles)


def parse_recording(body: Any) -> MbRecording:
    """Recording title and length in milliseconds; an unknown (null) length becomes 0."""
    title = _field(body, "title", str, "recording")
    if not isinstance(body, dict) or "length" not in body:
        raise MalformedResponse("recording: missing 'length'")
    length = body["length"]
    if length is None:
        return MbRecording(title=title, length_ms=0)
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise MalformedResponse(f"recording: 'length' is not a duration in ms ({length!r})")
    return MbRecording(title=title, length_ms=length)


class HttpMusicBrainz:
    """MusicBrainz WS/2 client: JSON lookups under one shared rate limit, safe across threads."""

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
    ) -> None:
        policy = HttpPolicy(
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_s=backoff_s,
            max_retry_after_s=max_retry_after_s,
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

    def _lookup(self, entity: str, mbid: str, inc: tuple[str, ...]) -> Any:
        """GET /ws/2/{entity}/{mbid} as JSON; any way of not getting a body is MusicBrainzError."""
        what = f"MusicBrainz {entity} {mbid}"
        # A non-UUID would get a 400 anyway; refusing it here also keeps it out of the URL path.
        if not _UUID.match(mbid):
            raise MusicBrainzError(f"{what}: not an MBID")
        params = {"fmt": "json"}
        if inc:
            params["inc"] = " ".join(inc)  # requests encodes the space as '+'
        try:
            response = self._service.request("GET", f"/ws/2/{entity}/{mbid}", params=params)
        except HttpFailure as exc:
            raise MusicBrainzError(f"{what}: {exc.reason}") from None
        if response.status_code == 404:
            raise MusicBrainzNotFound(f"{what}: not found")
        if not 200 <= response.status_code < 300:
            raise MusicBrainzError(f"{what}: HTTP {response.status_code}")
        try:
            return read_json(response)
        except MalformedResponse as exc:
            raise MusicBrainzError(f"{what}: {exc}") from None

    def _parsed(self, entity: str, mbid: str, inc: tuple[str, ...], parse: Any) -> Any:
        body = self._lookup(entity, mbid, inc)
        try:
            return parse(body)
        except MalformedResponse as exc:
            raise MusicBrainzError(f"MusicBrainz {entity} {mbid}: {exc}") from None

    def artist(self, mbid: str) -> MbArtist:
        """The artist's name and primary aliases."""
        return self._parsed("artist", mbid, ("aliases",), parse_artist)

    def release(self, mbid: str) -> MbRelease:
        """The release's title and credited artist names."""
        return self._parsed("release", mbid, ("artists",), parse_release)

    def release_group_titles(self, mbid: str) -> tuple[str, ...]:
        """The distinct titles of the release group's releases."""
        return self._parsed(
            "release-group", mbid, ("releases", "artists"), parse_release_group_titles
        )

    def recording(self, mbid: str) -> MbRecording:
        """The recording's title and length."""
        return self._parsed("recording", mbid, (), parse_recording)


def musicbrainz_from_settings(settings: Settings, **tuning: Any) -> MusicBrainz:
    """The caller the settings ask for; ``tuning`` goes to :class:`HttpMusicBrainz`."""
    if settings.disable_musicbrainz:
        return DisabledMusicBrainz()
    tuning.setdefault("user_agent", user_agent(settings.user_agent_contact))
    return HttpMusicBrainz(settings.musicbrainz_url, settings.musicbrainz_rate_limit, **tuning)
