"""Last.fm CSV exports: lastfm.ghan.nl's 8 columns, and the 4 headerless columns of lastfm-to-csv.

ghan.nl: ``uts, utc_time, artist, artist_mbid, album, album_mbid, track, track_mbid`` with or
without that header; the time is ``uts``, else ``utc_time`` ("22 Oct 2010, 02:05", UTC).
lastfm-to-csv (benjaminbenben.com): ``artist, album, track, date`` with the date as
"02 Mar 2024 17:57", UTC, and no MBIDs. Both are Last.fm data, so Koito's Last.fm rules apply
(:func:`koito_assets.sources.lastfm.scrobble`); a row without any date is the "now playing" row.
Rows are read line by line through the csv module (quoted commas and newlines work); a row with
the wrong number of columns is malformed and the rest of the file goes on. A quote that never
closes fails the file at the line it opens (it would swallow every row after it into one), and
so does a byte that is not UTF-8, at its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from koito_assets.sources import lastfm
from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord, ExportError
from koito_assets.sources.fields import digits_seconds, lastfm_date_seconds
from koito_assets.sources.reader import Normaliser, Record, normalise_one, open_binary
from koito_assets.sources.record import Skipped, SkipReason

GHAN_FORMAT = "lastfm_csv"
LASTFM_TO_CSV_FORMAT = "lastfm_to_csv"
GHAN_HEADER = [
    "uts",
    "utc_time",
    "artist",
    "artist_mbid",
    "album",
    "album_mbid",
    "track",
    "track_mbid",
]
MAX_LINE_CHARS = 1 << 20  # a longer line is cut into pieces that fail as malformed rows


def read_ghan(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every row of a ghan.nl CSV, in file order."""
    return _read_rows(path, ctx, normalise_ghan, skip_header=True)


def read_lastfm_to_csv(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every row of a lastfm-to-csv file, in file order."""
    return _read_rows(path, ctx, normalise_lastfm_to_csv, skip_header=False)


def sniff(rows: list[list[str]]) -> str | None:
    """Which of the two CSV formats the first rows are, if either (for detection).

    A format needs its column count in all rows but one (a broken row must not hide the file)
    and at least one row with a date it can read.
    """
    if rows and rows[0] == GHAN_HEADER:
        return GHAN_FORMAT
    ghan = [row for row in rows if len(row) == len(GHAN_HEADER)]
    if len(ghan) >= len(rows) - 1 and any(_ghan_time(row) is not None for row in ghan):
        return GHAN_FORMAT
    four = [row for row in rows if len(row) == 4]
    if len(four) >= len(rows) - 1 and any(lastfm_date_seconds(row[3]) for row in four):
        return LASTFM_TO_CSV_FORMAT
    return None


def normalise_ghan(row: list[str], position: str, ctx: ReadContext) -> Record:
    """One ghan.nl row as a Scrobble, or the reason it is skipped."""
    if len(row) != len(GHAN_HEADER):
        raise BadRecord(f"{len(row)} columns, not {len(GHAN_HEADER)}")
    uts, utc_time, artist, artist_mbid, album, album_mbid, track, track_mbid = row
    if not uts.strip() and not utc_time.strip():
        return Skipped(SkipReason.NOW_PLAYING, position)
    listened_at = _ghan_time(row)
    if listened_at is None:
        return Skipped(SkipReason.UNPARSABLE_TIME, position, f"uts {uts!r}, utc_time {utc_time!r}")
    return lastfm.scrobble(
        position,
        ctx,
        listened_at=listened_at,
        artist=ctx.text(artist, "artist"),
        track=ctx.text(track, "track"),
        album=ctx.text(album, "album"),
        artist_mbid=artist_mbid,
        album_mbid=album_mbid,
        track_mbid=track_mbid,
    )


def normalise_lastfm_to_csv(row: list[str], position: str, ctx: ReadContext) -> Record:
    """One lastfm-to-csv row as a Scrobble, or the reason it is skipped."""
    if len(row) != 4:
        raise BadRecord(f"{len(row)} columns, not 4")
    artist, album, track, date = row
    if not date.strip():
        return Skipped(SkipReason.NOW_PLAYING, position)
    listened_at = lastfm_date_seconds(date)
    if listened_at is None:
        return Skipped(SkipReason.UNPARSABLE_TIME, position, f"date {date!r}")
    return lastfm.scrobble(
        position,
        ctx,
        listened_at=listened_at,
        artist=ctx.text(artist, "artist"),
        track=ctx.text(track, "track"),
        album=ctx.text(album, "album"),
    )


def _ghan_time(row: list[str]) -> int | None:
    """A ghan.nl row's time: ``uts``, else ``utc_time``."""
    listened_at = digits_seconds(row[0].strip())
    return listened_at if listened_at is not None else lastfm_date_seconds(row[1])


def _read_rows(
    path: Path, ctx: ReadContext, normalise: Normaliser, *, skip_header: bool
) -> Iterator[Record]:
    with open_binary(path) as file:
        text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
        # strict: a quoted field still open at the end of the file is an error, not a row
        rows = csv.reader(iter(partial(text.readline, MAX_LINE_CHARS), ""), strict=True)
        while True:
            first_line = rows.line_num + 1
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:  # a field over the size limit, a quote never closed
                if rows.line_num > first_line or "unexpected end of data" in str(exc):
                    raise _unterminated_quote(path, first_line, rows.line_num) from None
                yield Skipped(SkipReason.MALFORMED_RECORD, f"line {first_line}", str(exc))
                continue
            except UnicodeDecodeError:
                raise _not_utf8(path) from None
            except OSError as exc:
                raise ExportError(path, f"line {first_line}", f"cannot read: {exc}") from None
            if not row or (skip_header and row == GHAN_HEADER):
                continue
            yield normalise_one(row, f"line {first_line}", normalise, ctx)


def _unterminated_quote(path: Path, first_line: int, last_line: int) -> ExportError:
    runs_on = f"runs on to line {last_line}" if last_line > first_line else "never closes"
    return ExportError(
        path, f"line {first_line}", f"a quoted field opens here and {runs_on}: unterminated quote?"
    )


def _not_utf8(path: Path) -> ExportError:
    """Where the first byte that is not UTF-8 is: its line, its offset and its value.

    The text layer decodes a block ahead of the row being read, so the row it fails on is not
    where the byte is: the file is scanned again, line by line, to say exactly (only on error).
    """
    with open_binary(path) as file:
        number, offset, carried = 1, 0, b""
        for piece in iter(partial(file.readline, MAX_LINE_CHARS), b""):
            data = carried + piece
            try:
                data.decode("utf-8")
                carried = b""
            except UnicodeDecodeError as exc:
                if exc.reason == "unexpected end of data" and not piece.endswith(b"\n"):
                    carried = data[exc.start :]  # a character cut by the bounded read
                else:
                    byte = data[exc.start]
                    hint = " (saved as Latin-1 or Windows-1252?)" if byte >= 0x80 else ""
                    where = f"line {number}, byte {offset - len(carried) + exc.start}"
                    return ExportError(path, where, f"not UTF-8 text: byte 0x{byte:02x}{hint}")
            offset += len(piece)
            number += piece.endswith(b"\n")
    return ExportError(path, "", "not UTF-8 text")
