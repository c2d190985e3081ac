"""Spotify's data download as it arrives, ``my_spotify_data.zip``, read without unpacking it.

Spotify sends two different downloads under that one name (docs/koito-reference.md §3.2):

* the extended streaming history:
  ``Spotify Extended Streaming History/Streaming_History_Audio_*.json``
  (older downloads: ``MyData/endsong_*.json``), read by :mod:`spotify_extended`'s rules;
* the account data: ``Spotify Account Data/StreamingHistory_music_*.json`` (older:
  ``StreamingHistory<n>.json``), read by :mod:`spotify_account`'s rules.

Koito takes neither zip; its users unpack it and drop the audio files one by one. Members are
matched by their file name in any folder; video and podcast histories, playlists, the read-me PDF
and the rest are ignored. When one archive holds both histories (two downloads zipped together),
only the extended one is read: the account history is a coarser copy of the same plays (minute
precision), and reading both would import every play twice. Members are read in natural name
order (``_2`` before ``_10``), which for Spotify's names is time order. A record's position is
its member and number: ``Spotify Extended Streaming History/Streaming_History_Audio_2024_1.json
record 12``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from zipfile import ZipInfo

from koito_assets.sources import spotify_account, spotify_extended
from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import ExportError, member_name
from koito_assets.sources.jsonstream import JsonStream
from koito_assets.sources.reader import Normaliser, Record, numbered
from koito_assets.sources.zipsafe import DEFAULT_LIMITS, MEMBER_ERRORS, SafeZip, ZipLimits, open_zip

FORMAT = "spotify_zip"
_EXTENDED = re.compile(r"(?:Streaming_History_Audio|endsong)[^/]*\.json", re.IGNORECASE)
_ACCOUNT = re.compile(r"StreamingHistory(?:_music_)?[0-9]*\.json", re.IGNORECASE)
_NUMBER = re.compile(r"([0-9]+)")


def member_normaliser(name: str) -> Normaliser | None:
    """How a member is read, judged by its file name in whatever folder; None: not a history."""
    base = name.replace("\\", "/").rpartition("/")[2]
    if _EXTENDED.fullmatch(base):
        return spotify_extended.normalise
    if _ACCOUNT.fullmatch(base):
        return spotify_account.normalise
    return None


def histories(names: list[str]) -> tuple[list[str], list[str]]:
    """The members to read, in reading order, and the account-history members left out because
    the archive also holds the extended history."""
    extended = [name for name in names if member_normaliser(name) is spotify_extended.normalise]
    account = [name for name in names if member_normaliser(name) is spotify_account.normalise]
    if extended:
        return sorted(extended, key=_natural), sorted(account, key=_natural)
    return sorted(account, key=_natural), []


def notes(path: Path) -> tuple[str, ...]:
    """What a user should know before the import: account-history members that are not read."""
    with open_zip(path) as archive:
        _, left_out = histories(archive.names())
    if not left_out:
        return ()
    return (
        f"also holds the account-data history ({len(left_out)} file(s), e.g. {left_out[0]}): "
        "not read, because the extended history in the same archive holds the same plays",
    )


def read(path: Path, ctx: ReadContext, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every play of every history member, member by member."""
    with open_zip(path, limits) as archive:
        wanted = set(histories(archive.names())[0])
        # Every member of a wanted name, two of one name too (noted at detection), in order.
        members = sorted(
            (info for info in archive.members if info.filename in wanted),
            key=lambda info: _natural(info.filename),
        )
        archive.check_sizes(members)
        for info in members:
            yield from _read_member(archive, info, ctx)


def _read_member(archive: SafeZip, info: ZipInfo, ctx: ReadContext) -> Iterator[Record]:
    normalise = member_normaliser(info.filename)
    assert normalise is not None
    name = member_name(info.filename)
    try:
        stream = JsonStream(_ChunkReader(archive.chunks(info)), ctx.path)
        yield from numbered(stream, stream.items(), normalise, ctx, where=f"{name} ")
        stream.end()
    except ExportError as exc:  # the stream names the archive; say which member and where in it
        where = exc.where if exc.where.startswith(name) else f"{name} {exc.where}".rstrip()
        raise ExportError(ctx.path, where, exc.message) from None
    except MEMBER_ERRORS as exc:
        raise ExportError(ctx.path, name, f"damaged member: {exc}") from None


class _ChunkReader:
    """A member's decompressed chunks as the ``read`` a JsonStream calls (b"" at the end)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> bytes:
        return next(self._chunks, b"")


def _natural(name: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part.lower() for part in _NUMBER.split(name)]
