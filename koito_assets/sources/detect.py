"""Which export a file is: by its content, with Koito's file-name rules to compare and fall back on.

Koito dispatches on a case-sensitive substring of the file name (docs/koito-reference.md §3.1),
so a Spotify file renamed "maloja.json" fails there. We read the start of the content instead (the
first record of a JSON file, the member names of a zip, the first rows of a CSV) and trust it: when
the name says otherwise, the content wins and a note says so. The name decides only when the
content holds no record to tell by (an empty array), and then a note says that too.
"""

from __future__ import annotations

import csv
import io
from codecs import BOM_UTF8
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from koito_assets.sources import (
    koito_export,
    lastfm,
    lastfm_csv,
    lastfmstats,
    listenbrainz,
    maloja,
    spotify_account,
    spotify_extended,
    spotify_zip,
)
from koito_assets.sources.errors import ExportError
from koito_assets.sources.fields import shown
from koito_assets.sources.formats import formats_we_read
from koito_assets.sources.jsonstream import JsonStream
from koito_assets.sources.reader import open_binary
from koito_assets.sources.zipsafe import open_zip

SNIFF_BYTES = 1 << 16
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive's first member, or an empty archive

# Koito's dispatch: first matching substring wins (docs/koito-reference.md §3.1); Last.fm and
# ListenBrainz name families whose other formats Koito lacks.
KOITO_NAME_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Streaming_History_Audio", (spotify_extended.FORMAT,)),
    ("maloja", (maloja.FORMAT,)),
    ("recenttracks", (lastfm.FORMAT, lastfm_csv.GHAN_FORMAT, lastfm_csv.LASTFM_TO_CSV_FORMAT)),
    ("listenbrainz", (listenbrainz.ZIP_FORMAT, listenbrainz.JSON_FORMAT)),
    ("koito", (koito_export.FORMAT,)),
)
# Names the exporters give that Koito does not know; used only for files without records.
OTHER_NAME_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("endsong", (spotify_extended.FORMAT,)),
    ("StreamingHistory", (spotify_account.FORMAT,)),
    ("_lb-", (listenbrainz.JSON_FORMAT,)),
    ("lastfmstats", (lastfmstats.FORMAT,)),
)
# A JSON array's first element tells these apart.
_ARRAY_FORMATS = (
    (spotify_extended.FORMAT, spotify_extended.looks_like),
    (spotify_account.FORMAT, spotify_account.looks_like),
    (listenbrainz.JSON_FORMAT, listenbrainz.looks_like),
    (lastfm.FORMAT, lastfm.looks_like),
)
_EMPTY_ARRAY = frozenset(name for name, _ in _ARRAY_FORMATS)
_EMPTY_OBJECT = frozenset({maloja.FORMAT, koito_export.FORMAT, lastfmstats.FORMAT})
_SCROBBLE_LIST_FORMATS = (
    (maloja.FORMAT, maloja.looks_like),
    (lastfmstats.FORMAT, lastfmstats.looks_like),
)


@dataclass(frozen=True)
class Detection:
    format: str
    notes: tuple[str, ...] = ()


def detect(path: Path) -> Detection:
    """The format of the file at ``path``; ExportError when it is none we read, or unreadable."""
    found = _sniff(path)
    if isinstance(found, str):
        notes = spotify_zip.notes(path) if found == spotify_zip.FORMAT else ()
        if found in _ZIP_FORMATS:
            notes = (*notes, *_duplicate_member_notes(path))
        rule = _koito_rule(path.name)
        if rule is None or found in rule[1]:
            return Detection(found, notes)
        substring, formats = rule
        return Detection(
            found,
            (
                f"the file name contains {substring!r}, which Koito reads as {formats[0]}, "
                f"but the content is {found}: read as {found}",
                *notes,
            ),
        )
    for substring, formats in KOITO_NAME_RULES + OTHER_NAME_HINTS:
        if substring in path.name:
            for name in formats:
                if name in found:
                    note = f"no records to tell the format by: {name} from the file name"
                    return Detection(name, (note,))
    container = "an empty JSON array" if found is _EMPTY_ARRAY else "a JSON object without records"
    raise _unknown(path, f"{container}, and the file name does not say which export it is")


_ZIP_FORMATS = frozenset({spotify_zip.FORMAT, listenbrainz.ZIP_FORMAT})


def _duplicate_member_notes(path: Path) -> tuple[str, ...]:
    """A note when members share a name (an archive appended to): every one of them is read."""
    with open_zip(path) as archive:
        duplicates = archive.duplicate_names()
    if not duplicates:
        return ()
    return (
        f"{len(duplicates)} member name(s) appear more than once in the archive (first: "
        f"{shown(duplicates[0], 120)}): every member of that name is read",
    )


def _koito_rule(name: str) -> tuple[str, tuple[str, ...]] | None:
    for substring, formats in KOITO_NAME_RULES:
        if substring in name:
            return substring, formats
    return None


def _sniff(path: Path) -> str | frozenset[str]:
    """The format the content shows, or the candidates when it holds no record to tell by."""
    with open_binary(path) as file:
        try:
            head = file.read(SNIFF_BYTES)
            if head.startswith(_ZIP_MAGICS):
                return _sniff_zip(path)
            first = _first_non_blank(file, head.removeprefix(BOM_UTF8))
        except OSError as exc:
            raise ExportError(path, "", f"cannot read: {exc.strerror or exc}") from None
        if first == b"[":
            file.seek(0)
            return _sniff_array(JsonStream(file, path), path)
        if first == b"{":
            file.seek(0)
            return _sniff_object(JsonStream(file, path), path)
        if first == b"" and head:
            raise ExportError(path, "", "empty file (nothing but blank space)")
    return _sniff_csv(path, head)


def _first_non_blank(file: BinaryIO, head: bytes) -> bytes:
    """The first byte that is not JSON whitespace, reading on past ``head`` as long as it is
    all blank (a JSON document may start after any amount of it); b"" when nothing else is."""
    chunk = head
    while True:
        first = chunk.lstrip(b" \t\r\n")[:1]
        if first or len(chunk) < SNIFF_BYTES:
            return first
        chunk = file.read(SNIFF_BYTES)


def _sniff_zip(path: Path) -> str:
    with open_zip(path) as archive:
        names = archive.names()
    if "user.json" in names or any(listenbrainz.is_listens_member(name) for name in names):
        return listenbrainz.ZIP_FORMAT
    if spotify_zip.histories(names)[0]:
        return spotify_zip.FORMAT
    raise _unknown(
        path, "a zip archive without ListenBrainz listens or a Spotify streaming history"
    )


def _sniff_array(stream: JsonStream, path: Path) -> str | frozenset[str]:
    for _ in stream.elements():
        item = stream.value()
        for name, looks_like in _ARRAY_FORMATS:
            if looks_like(item):
                return name
        raise _unknown(path, f"a JSON array of {_described(item)}")
    return _EMPTY_ARRAY


def _sniff_object(stream: JsonStream, path: Path) -> str | frozenset[str]:
    keys = []
    for key in stream.members():
        if key == lastfmstats.SCROBBLE_LIST and stream.peek() == "[":
            # Maloja's export and lastfmstats.com's share the key; an empty list is Maloja's
            # unless the lastfmstats "username" came first.
            empty = lastfmstats.FORMAT if "username" in keys else maloja.FORMAT
            return _first_item_is(stream, path, key, empty, _SCROBBLE_LIST_FORMATS)
        if key in maloja.SCROBBLE_LISTS and stream.peek() == "[":
            return _first_item_is(
                stream, path, key, maloja.FORMAT, ((maloja.FORMAT, maloja.looks_like),)
            )
        if key == "listens" and stream.peek() == "[":
            return _first_item_is(
                stream,
                path,
                key,
                koito_export.FORMAT,
                ((koito_export.FORMAT, koito_export.looks_like),),
            )
        keys.append(key)
        stream.value()
    if "maloja" in keys:  # an export of a Maloja without scrobbles
        return maloja.FORMAT
    if "version" in keys and "exported_at" in keys:  # a Koito export without listens
        return koito_export.FORMAT
    if keys == ["username"]:  # a lastfmstats.com export without scrobbles
        return lastfmstats.FORMAT
    if not keys:
        return _EMPTY_OBJECT
    raise _unknown(path, f"a JSON object with keys {shown(keys)}")


def _first_item_is(
    stream: JsonStream, path: Path, key: str, empty: str, candidates: tuple[tuple[str, Any], ...]
) -> str:
    """The format whose records the first item of list ``key`` looks like; ``empty`` when the
    list has none."""
    for _ in stream.elements():
        item = stream.value()
        for name, looks_like in candidates:
            if looks_like(item):
                return name
        raise _unknown(path, f"a JSON object whose {key!r} list holds {_described(item)}")
    return empty


def _sniff_csv(path: Path, head: bytes) -> str:
    if not head:
        raise ExportError(path, "", "empty file")
    # Only whole lines: the sniffed bytes may end inside a line or a multi-byte character.
    complete = head if len(head) < SNIFF_BYTES else head[: head.rfind(b"\n") + 1]
    text = _utf8_lines(complete)
    rows: list[list[str]] = []
    if "\x00" not in text:  # NUL bytes: binary data, not a text export
        try:
            rows = list(islice(filter(None, csv.reader(io.StringIO(text))), 5))
        except csv.Error:
            rows = []
    found = lastfm_csv.sniff(rows)
    if found is None:
        first_line = head.split(b"\n", 1)[0][:60]
        raise _unknown(path, f"neither JSON, a zip nor a CSV we know (starts {shown(first_line)})")
    return found


def _utf8_lines(data: bytes) -> str:
    """``data`` as text, a byte that is not UTF-8 replaced: a Latin-1 "é" in an artist does not
    change which CSV a file is, and reading it then says which line is not UTF-8."""
    return data.decode("utf-8-sig", errors="replace")


def _described(item: Any) -> str:
    if item.__class__ is dict:
        return f"objects with keys {shown(list(item)[:8])}"
    return type(item).__name__ + " values"


def _unknown(path: Path, what: str) -> ExportError:
    return ExportError(path, "", f"{what}: not an export we read (we read: {formats_we_read()})")
