"""The shape every format module shares: a reader streams records, a normaliser judges one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord, ExportError
from koito_assets.sources.jsonstream import JsonStream
from koito_assets.sources.record import Scrobble, Skipped, SkipReason

Record = Scrobble | Skipped
Reader = Callable[[Path, ReadContext], Iterator[Record]]
Normaliser = Callable[[Any, str, ReadContext], Record]

_MALFORMED = SkipReason.MALFORMED_RECORD


def new_scrobble(fields: tuple[Any, ...]) -> Scrobble:
    """A Scrobble from all 15 fields in order, for less than half the cost of calling the class."""
    return _tuple_new(Scrobble, fields)


_tuple_new = tuple.__new__


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
            yield Skipped(_MALFORMED, position, str(exc))


def normalise_one(item: Any, position: str, normalise: Normaliser, ctx: ReadContext) -> Record:
    """One record whose position the caller names (a line, a zip member's line)."""
    try:
        return normalise(item, position, ctx)
    except BadRecord as exc:
        return Skipped(_MALFORMED, position, str(exc))


@contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    """The file opened for reading, with an OSError turned into our error."""
    try:
        file = open(path, "rb")
    except OSError as exc:
        raise ExportError(path, "", f"cannot open: {exc.strerror or exc}") from None
    with file:
        yield file


@contextmanager
def open_json(path: Path) -> Iterator[JsonStream]:
    """A JSON cursor over the file; the caller walks it."""
    with open_binary(path) as file:
        yield JsonStream(file, path)
