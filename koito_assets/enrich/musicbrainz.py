"""What the catalog asks MusicBrainz (spec §2.12), and the caller used when it is disabled.

The catalog depends only on :class:`MusicBrainz`; any :class:`MusicBrainzError` means "not
reachable" and the catalog falls back exactly as Koito does when its caller fails.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class MusicBrainzError(RuntimeError):
    """MusicBrainz did not give an answer (disabled, unreachable, 4xx/5xx, malformed body)."""


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
