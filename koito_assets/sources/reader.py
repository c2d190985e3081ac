"""The shape every format module shares: a reader streams records, a normaliser judges one."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord, ExportError, NameTooLong
from koito_assets.sources.fields import MAX_NAME_BYTES, MAX_TEXT_CHARS, name_too_long
from koito_assets.sources.jsonstream import JsonStream
from koito_assets.sources.record import Scrobble, Skipped, SkipReason

Record = Scrobble | Skipped
Reader = Callable[[Path, ReadContext], Iterator[Record]]
Normaliser = Callable[[Any, str, ReadContext], Record]


def new_scrobble(fields: tuple[Any, ...], ctx: ReadContext) -> Scrobble | Skipped:
    """A Scrobble from all 15 fields in order, for less than half the cost of calling the class;
    skipped as ``name_too_long`` when the artist, title or album is too long for Koito's alias
    keys, and with a client longer than MAX_TEXT_CHARS cut.

    Every reader builds its records here, so no format hands an unindexable name or an
    unbounded client to staging; the other names (artist lists, credits, Koito aliases) are
    checked where a reader builds them, with :func:`check_name`. The usual record costs one
    comparison.
    """
    # One sum for the usual record: when all four together are this short, each one is.
    if len(fields[1]) + len(fields[2]) + len(fields[3]) + len(fields[11]) > _SURELY_SHORT:
        return _checked_scrobble(fields, ctx)
    return _tuple_new(Scrobble, fields)


_tuple_new = tuple.__new__
_SURELY_SHORT = MAX_NAME_BYTES // 4  # a UTF-8 character takes at most 4 bytes
_NAME_FIELDS = ((1, "artist"), (2, "title"), (3, "album"))


def check_name(name: str, what: str) -> str:
    """``name`` as it is, or NameTooLong (the record is skipped) when Koito's alias keys could not
    index it. For the names a reader builds besides the artist, title and album."""
    if len(name) > _SURELY_SHORT and name_too_long(name):
        raise NameTooLong(_too_long_detail(what, name))
    return name


def _checked_scrobble(fields: tuple[Any, ...], ctx: ReadContext) -> Scrobble | Skipped:
    position = fields[12]
    for index, what in _NAME_FIELDS:
        if name_too_long(fields[index]):
            detail = _too_long_detail(what, fields[index])
            return Skipped(SkipReason.NAME_TOO_LONG, position, detail)
    client = fields[11]
    if len(client) > MAX_TEXT_CHARS:
        fields = (*fields[:11], ctx.cut(client, "client", position), *fields[12:])
    return _tuple_new(Scrobble, fields)


def _too_long_detail(what: str, name: str) -> str:
    size = len(name.encode("utf-8", "surrogatepass"))
    return f"{what} of {size:,} bytes; Koito's alias keys index at most {MAX_NAME_BYTES:,}"


def numbered(
    stream: JsonStream,
    items: Iterable[Any],
    normalise: Normaliser,
    ctx: ReadContext,
    *,
    where: str = "",
) -> Iterator[Record]:
    """Normalise records decoded from ``stream`` in order, as "record N" (after ``where``, say a
    zip member's name); a badly shaped one is skipped, not fatal."""
    number = 0
    for item in items:
        number += 1
        position = f"{where}record {number}"
        ctx.clean_text = not stream.escapes
        try:
            yield normalise(item, position, ctx)
        except BadRecord as exc:
            yield Skipped(SkipReason(exc.reason), position, str(exc))


def normalise_one(item: Any, position: str, normalise: Normaliser, ctx: ReadContext) -> Record:
    """One record whose position the caller names (a line, a zip member's line)."""
    try:
        return normalise(item, position, ctx)
    except BadRecord as exc:
        return Skipped(SkipReason(exc.reason), position, str(exc))


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; ExportError otherwise.

    Opened without blocking (a FIFO would wait for a writer forever) and judged by the open
    descriptor, not by an earlier stat, so a file swapped for a FIFO meanwhile is still refused.
    A directory, FIFO, socket or device (``/dev/zero``, a terminal's ``/dev/stdin``) is never read.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ExportError(path, "", f"cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise ExportError(path, "", f"not a regular file but {_file_kind(mode)}")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "something else"


@contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    """The regular file opened for reading, with an OSError turned into our error."""
    with open_regular(path) as file:
        yield file


@contextmanager
def open_json(path: Path) -> Iterator[JsonStream]:
    """A JSON cursor over the file; the caller walks it."""
    with open_binary(path) as file:
        yield JsonStream(file, path)
