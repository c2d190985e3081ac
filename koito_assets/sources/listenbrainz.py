"""ListenBrainz: the export zip (``listens/<year>/<month>.jsonl``) and the older single JSON array.

Koito's rules (spec §3.5): artist = ``artist_name``, title = ``track_name``, album =
``release_name`` ("" when absent: the catalog names the album after the track), explicit names =
``additional_info.artist_names``; artist MBIDs from ``additional_info.artist_mbids``; recording
and release MBIDs from ``additional_info``, else ``mbid_mapping``; the release-group MBID only from
``additional_info``; (credit name, MBID) mappings from ``mbid_mapping.artists``; client =
``media_player``, else ``submission_client``, else ""; duration = ``duration`` seconds, else
``duration_ms // 1000``. Zip members are read in archive order (also when the export was unpacked
and zipped again under one top folder); ``user.json``, feedback and pins are ignored.

The project's deliberate fixes (design §5.5, §5.6): the ``mbid_mapping.artist_mbids`` fallback
works (used when ``additional_info`` holds no valid artist MBID; Koito computes it and throws it
away); lines of any length parse (Koito's scanner stops silently at 64 KiB; we cap a line at
64 MiB only to keep memory bounded, and skip a longer one as malformed); an empty artist or title
is skipped with a reason, where Koito abandons the rest of the month; a listen without a usable
``listened_at`` is ``unparsable_time``, where Koito files it under 1970. A mapping whose MBID is
invalid is dropped (Koito keeps it with the nil UUID, which means "absent" anyway). Optional fields
of the wrong type count as absent; a line that is not JSON is malformed and reading goes on.

Lines are parsed with ``pydantic_core.from_json`` (Rust; installed with Dagster, through pydantic):
its string cache makes it about three times faster than ``json.loads`` on these repetitive lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zipfile import ZipInfo

from pydantic_core import from_json

from koito_assets.sources.context import ReadContext
from koito_assets.sources.errors import BadRecord, ExportError
from koito_assets.sources.fields import (
    duration_seconds,
    parse_mbid,
    parse_mbids,
    shown,
    unix_seconds,
)
from koito_assets.sources.reader import Record, new_scrobble, normalise_one, numbered, open_json
from koito_assets.sources.record import Skipped, SkipReason
from koito_assets.sources.zipsafe import DEFAULT_LIMITS, MEMBER_ERRORS, SafeZip, ZipLimits, open_zip

ZIP_FORMAT = "listenbrainz_zip"
JSON_FORMAT = "listenbrainz_json"
MAX_LINE_BYTES = 64 << 20
_EMPTY: dict[str, Any] = {}


def is_listens_member(name: str) -> bool:
    """Whether a zip member holds listens: ``listens/2024/3.jsonl``, also inside one top folder.

    Koito takes only the first form; the second is the same export unpacked and zipped again.
    """
    name = name.replace("\\", "/")
    inside_top_folder = name.partition("/")[2]
    return name.endswith(".jsonl") and (
        name.startswith("listens/") or inside_top_folder.startswith("listens/")
    )


def read_zip(path: Path, ctx: ReadContext, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every listen of every ``listens/*.jsonl`` member, in archive order."""
    with open_zip(path, limits) as archive:
        members = [info for info in archive.members if is_listens_member(info.filename)]
        archive.check_sizes(members)
        for info in members:
            yield from _read_member(archive, info, ctx)


def read_json(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every listen of an old single-array export (``<user>_lb-<date>.json``), in file order."""
    with open_json(path) as stream:
        yield from numbered(stream, stream.items(), normalise, ctx)
        stream.end()


def looks_like(item: Any) -> bool:
    """Whether the first element of a JSON array is a listen (for detection)."""
    return item.__class__ is dict and "listened_at" in item and "track_metadata" in item


def normalise(listen: Any, position: str, ctx: ReadContext) -> Record:
    """One listen as a Scrobble, or the reason it is skipped."""
    if listen.__class__ is not dict:
        raise BadRecord("a listen is not an object")
    meta = listen.get("track_metadata")
    if meta is None:
        meta = _EMPTY
    elif meta.__class__ is not dict:
        raise BadRecord("track_metadata is not an object")
    artist = ctx.text(meta.get("artist_name"), "artist_name")
    track = ctx.text(meta.get("track_name"), "track_name")
    album = ctx.text(meta.get("release_name"), "release_name")

    listened_at = unix_seconds(listen.get("listened_at"))
    if listened_at is None:
        detail = f"listened_at {shown(listen.get('listened_at'))}"
        return Skipped(SkipReason.UNPARSABLE_TIME, position, detail)
    if not artist or artist.isspace():
        return Skipped(SkipReason.MISSING_ARTIST, position)
    if not track or track.isspace():
        return Skipped(SkipReason.MISSING_TITLE, position)
    if not ctx.after <= listened_at <= ctx.before:
        return Skipped(SkipReason.OUTSIDE_TIME_WINDOW, position)

    return new_scrobble(
        (
            listened_at,
            artist,
            track,
            album,
            *_optional_fields(meta.get("additional_info"), meta.get("mbid_mapping"), ctx),
            position,
            None,
        )
    )


def _optional_fields(info: Any, mapping: Any, ctx: ReadContext) -> tuple[Any, ...]:
    """(artist names, artist MBIDs, credits, recording, release and release-group MBIDs, duration,
    client) from ``additional_info`` and ``mbid_mapping``; absent keys cost no parsing."""
    if info.__class__ is not dict:
        info = _EMPTY
    if mapping.__class__ is not dict:
        mapping = _EMPTY
    names, credits = info.get("artist_names"), mapping.get("artists")
    names = (names and _names(names, ctx)) or ()
    credits = (credits and _credits(credits, ctx)) or ()
    artist_mbids, mapped_mbids = info.get("artist_mbids"), mapping.get("artist_mbids")
    artist_mbids = (artist_mbids and parse_mbids(artist_mbids)) or (
        mapped_mbids and parse_mbids(mapped_mbids)
    ) or ()
    recording = _either_mbid(info.get("recording_mbid"), mapping.get("recording_mbid"))
    release = _either_mbid(info.get("release_mbid"), mapping.get("release_mbid"))
    release_group = parse_mbid(info.get("release_group_mbid"))
    seconds, ms = info.get("duration"), info.get("duration_ms")
    duration = (
        (seconds and duration_seconds(seconds)) or (ms and duration_seconds(ms, per_second=1000)) or 0
    )
    player, submitter = info.get("media_player"), info.get("submission_client")
    client = (player and ctx.optional_text(player, "media_player")) or (
        submitter and ctx.optional_text(submitter, "submission_client")
    )
    return names, artist_mbids, credits, recording, release, release_group, duration, client or ""


def _either_mbid(preferred: Any, fallback: Any) -> str | None:
    """The first valid MBID of two (``additional_info``'s, then ``mbid_mapping``'s)."""
    return (preferred and parse_mbid(preferred)) or (fallback and parse_mbid(fallback)) or None


def _read_member(archive: SafeZip, info: ZipInfo, ctx: ReadContext) -> Iterator[Record]:
    """The listens of one JSONL member, line by line; a bad line is skipped, a bad member is fatal."""
    name = info.filename
    number = 0
    with archive.open(info) as lines:
        try:
            while line := lines.readline(MAX_LINE_BYTES):
                number += 1
                position = f"{name} line {number}"
                if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
                    _skip_rest_of_line(lines)
                    yield Skipped(SkipReason.MALFORMED_RECORD, position, "line longer than 64 MiB")
                    continue
                if line.isspace():
                    continue
                try:
                    listen = from_json(line)
                except ValueError as exc:  # not JSON, not UTF-8, a lone surrogate, too deep
                    yield Skipped(SkipReason.MALFORMED_RECORD, position, f"not JSON ({exc})")
                    continue
                # from_json refuses lone surrogates, so only an escaped NUL needs cleaning.
                ctx.clean_text = b"\\u0000" not in line
                yield normalise_one(listen, position, normalise, ctx)
        except MEMBER_ERRORS as exc:
            raise ExportError(ctx.path, f"{name} line {number + 1}", f"damaged member: {exc}") from None


def _skip_rest_of_line(lines: Any) -> None:
    while (piece := lines.readline(MAX_LINE_BYTES)) and not piece.endswith(b"\n"):
        pass


def _names(value: Any, ctx: ReadContext) -> tuple[str, ...]:
    """``additional_info.artist_names``: its non-blank strings."""
    if value.__class__ is not list:
        return ()
    names = (ctx.text(name, "artist_names") for name in value if name.__class__ is str)
    return tuple(name for name in names if name and not name.isspace())


def _credits(value: Any, ctx: ReadContext) -> tuple[tuple[str, str], ...]:
    """``mbid_mapping.artists`` as (credit name, MBID) pairs; entries lacking either are dropped."""
    if value.__class__ is not list:
        return ()
    pairs = []
    for credit in value:
        if credit.__class__ is not dict:
            continue
        name = ctx.optional_text(credit.get("artist_credit_name"), "artist_credit_name")
        mbid = parse_mbid(credit.get("artist_mbid"))
        if name and not name.isspace() and mbid:
            pairs.append((name, mbid))
    return tuple(pairs)
