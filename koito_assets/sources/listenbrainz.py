"""ListenBrainz: the export zip (``listens/<year>/<month>.jsonl``) and the older single JSON array.

Koito's rules (docs/koito-reference.md §3.5): artist = ``artist_name``, title = ``track_name``,
album = ``release_name`` ("" when absent: the catalog names the album after the track), explicit
names = ``additional_info.artist_names``; artist MBIDs from ``additional_info.artist_mbids``;
recording and release MBIDs from ``additional_info``, else ``mbid_mapping``; the release-group MBID
only from ``additional_info``; (credit name, MBID) mappings from ``mbid_mapping.artists``; client =
``media_player``, else ``submission_client``, else ""; duration = ``duration`` seconds, else
``duration_ms // 1000``. Zip members are read in archive order (also when the export was unpacked
and zipped again under one top folder); ``user.json``, feedback and pins are ignored.

The project's deliberate fixes (docs/design.md §5.5, §5.6): the ``mbid_mapping.artist_mbids``
fallback works (used when ``additional_info`` holds no valid artist MBID; Koito computes it and
throws it away); lines of any length parse (Koito's scanner stops silently at 64 KiB; we cap a line
at 64 MiB only to keep memory bounded, and skip a longer one as malformed); an empty artist or title
is skipped with a reason, where Koito abandons the rest of the month; a listen without a usable
``listened_at`` is ``unparsable_time``, where Koito files it under 1970. A mapping whose MBID is
invalid is dropped (Koito keeps it with the nil UUID, which means "absent" anyway). Optional fields
of the wrong type count as absent; a line that is not JSON is malformed and reading goes on.

Lines are decoded by msgspec into dicts that hold only the keys the normaliser reads (the
``_Listen`` schema below): skipping ``recording_msid``, ``origin_url``, cover-art ids and the rest
makes decoding twice as fast as a full parse. Leaf values are ``Any``, so the one normaliser sees
exactly what a full parse would give it; a line that does not fit the schema's shape (an object
where a value is expected, or not JSON at all) is parsed again by ``pydantic_core.from_json`` and
judged the same way, so the schema changes speed, never results. One difference: invalid UTF-8
inside a field we ignore no longer makes the whole listen malformed.
"""

from __future__ import annotations

import json
from codecs import BOM_UTF8
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from itertools import compress
from pathlib import Path
from typing import Any, TypedDict
from zipfile import ZipInfo

import msgspec
from pydantic_core import from_json

from koito_assets.sources.context import ReadContext, Rules
from koito_assets.sources.errors import BadRecord, ExportError, member_name
from koito_assets.sources.fields import (
    MAX_UNIX,
    duration_seconds,
    parse_mbid,
    parse_mbids,
    shown,
    unix_seconds,
)
from koito_assets.sources.jsonstream import (
    NESTING_LIMIT,
    has_escapes,
    int_or_decimal,
    nested_too_deeply,
    on_fresh_stack,
)
from koito_assets.sources.parallel import packed_parts, process_count, unpack, worker_pool
from koito_assets.sources.reader import Record, check_name, new_scrobble, numbered, open_json
from koito_assets.sources.record import Skipped, SkipReason
from koito_assets.sources.zipsafe import DEFAULT_LIMITS, MEMBER_ERRORS, SafeZip, ZipLimits, open_zip

ZIP_FORMAT = "listenbrainz_zip"
JSON_FORMAT = "listenbrainz_json"
MAX_LINE_BYTES = 64 << 20
PARALLEL_MIN_BYTES = (
    24 << 20
)  # listens below this are read in-process: workers cost ~0.3 s to start
_EMPTY: dict[str, Any] = {}


class _Mapping(TypedDict, total=False):
    recording_mbid: Any
    release_mbid: Any
    artist_mbids: Any
    artists: Any


class _AdditionalInfo(TypedDict, total=False):
    artist_names: Any
    artist_mbids: Any
    recording_mbid: Any
    release_mbid: Any
    release_group_mbid: Any
    duration: Any
    duration_ms: Any
    media_player: Any
    submission_client: Any
    ms_played: Any


class _TrackMetadata(TypedDict, total=False):
    artist_name: Any
    track_name: Any
    release_name: Any
    additional_info: _AdditionalInfo | None
    mbid_mapping: _Mapping | None


class _Listen(TypedDict, total=False):
    """The keys ``normalise`` reads; msgspec drops every other key while decoding."""

    listened_at: Any
    track_metadata: _TrackMetadata | None


_decode_listen = msgspec.json.Decoder(_Listen).decode


def is_listens_member(name: str) -> bool:
    """Whether a zip member holds listens: ``listens/2024/3.jsonl``, also inside one top folder.

    Koito takes only the first form; the second is the same export unpacked and zipped again.
    The resource forks macOS adds when it zips a folder (``__MACOSX/listens/2024/._3.jsonl``)
    are not listens.
    """
    name = name.replace("\\", "/")
    top_folder, _, inside_top_folder = name.partition("/")
    if top_folder == "__MACOSX" or name.rpartition("/")[2].startswith("._"):
        return False
    return name.endswith(".jsonl") and (
        name.startswith("listens/") or inside_top_folder.startswith("listens/")
    )


def read_zip(path: Path, ctx: ReadContext, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every listen of every ``listens/*.jsonl`` member, in archive order."""
    with open_zip(path, limits) as archive:
        members = [info for info in archive.members if is_listens_member(info.filename)]
        archive.check_sizes(members)
        processes = process_count(ctx.processes)
        listens_bytes = sum(info.file_size for info in members)
        if processes > 1 and len(members) > 1 and listens_bytes >= PARALLEL_MIN_BYTES:
            yield from _read_members_in_parallel(archive, members, ctx, limits, processes)
        else:
            for info in members:
                yield from _read_member(archive, info, ctx)


def _read_members_in_parallel(
    archive: SafeZip, members: list[ZipInfo], ctx: ReadContext, limits: ZipLimits, processes: int
) -> Iterator[Record]:
    """The members read by worker processes, a member a task, handed on in archive order."""
    index_of = {id(info): index for index, info in enumerate(archive.members)}
    tasks = [
        (_member_in_worker, (ctx.path, limits, index_of[id(info)], ctx.rules)) for info in members
    ]
    with worker_pool(processes) as pool:
        for parts in pool.ordered(tasks):
            assert parts is not None
            for rows, stats_delta, inflated, error in parts:
                if error is not None:
                    raise ExportError(ctx.path, *error)
                ctx.stats.add_delta(stats_delta)
                # Each worker holds its own share to the archive's limits; the whole archive
                # is held to them here.
                archive.count_inflated(inflated)
                yield from unpack(rows)


_worker_archive: tuple[Path, SafeZip] | None = None  # a worker keeps its export open between tasks
_worker_exits = ExitStack()


def _member_in_worker(
    path: Path, limits: ZipLimits, index: int, rules: Rules
) -> Iterator[tuple[list, tuple[int, dict], int, tuple[str, str] | None]]:
    """In a worker: member ``index`` as parts of (packed records, the counters' share, bytes
    inflated, error)."""
    global _worker_archive
    ctx = ReadContext.in_worker(path, rules)
    stats = ctx.stats
    try:
        if _worker_archive is None or _worker_archive[0] != path:
            _worker_exits.close()
            _worker_archive = (path, _worker_exits.enter_context(open_zip(path, limits)))
        archive = _worker_archive[1]
        reported = archive.inflated
        for rows in packed_parts(_read_member(archive, archive.members[index], ctx)):
            yield rows, stats.take_delta(), archive.inflated - reported, None
            reported = archive.inflated
    except ExportError as exc:  # crosses back as plain values
        yield [], stats.take_delta(), 0, (exc.where, exc.message)


def read_json(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every listen of an old single-array export (``<user>_lb-<date>.json``), in file order."""
    with open_json(path) as stream:
        yield from numbered(stream, stream.items(), normalise, ctx)
        stream.end()


def looks_like(item: Any) -> bool:
    """Whether the first element of a JSON array is a listen (for detection)."""
    return item.__class__ is dict and "listened_at" in item and "track_metadata" in item


def normalise(listen: Any, position: str, ctx: ReadContext) -> Record:
    """One listen as a Scrobble, or the reason it is skipped.

    This runs once per listen of a history of millions: it calls out only for values that need
    a closer look (text that may hold NUL, a time that is not a plain int, present MBIDs).
    """
    if listen.__class__ is not dict:
        raise BadRecord("a listen is not an object")
    meta = listen.get("track_metadata")
    if meta.__class__ is not dict:
        if meta is not None:
            raise BadRecord("track_metadata is not an object")
        meta = _EMPTY
    clean = ctx.clean_text
    artist, track, album = meta.get("artist_name"), meta.get("track_name"), meta.get("release_name")
    if artist.__class__ is not str or not clean:
        artist = ctx.text(artist, "artist_name")
    if track.__class__ is not str or not clean:
        track = ctx.text(track, "track_name")
    if album.__class__ is not str or not clean:
        album = ctx.text(album, "release_name")

    listened_at = listen.get("listened_at")
    if listened_at.__class__ is not int or not 0 <= listened_at <= MAX_UNIX:
        listened_at = unix_seconds(listened_at)
        if listened_at is None:
            detail = f"listened_at {shown(listen.get('listened_at'))}"
            return Skipped(SkipReason.UNPARSABLE_TIME, position, detail)
    if not artist or artist.isspace():
        return Skipped(SkipReason.MISSING_ARTIST, position)
    if not track or track.isspace():
        return Skipped(SkipReason.MISSING_TITLE, position)
    if not ctx.after <= listened_at <= ctx.before:
        return ctx.outside(listened_at, position)

    info, mapping = meta.get("additional_info"), meta.get("mbid_mapping")
    if info.__class__ is not dict:
        info = _EMPTY
    if mapping.__class__ is not dict:
        mapping = _EMPTY
    names = info.get("artist_names")
    names = _names(names, ctx) if names else ()
    credits = mapping.get("artists")
    credits = _credits(credits, ctx) if credits else ()
    artist_mbids = info.get("artist_mbids")
    artist_mbids = parse_mbids(artist_mbids) if artist_mbids else ()
    if not artist_mbids:
        artist_mbids = mapping.get("artist_mbids")
        artist_mbids = parse_mbids(artist_mbids) if artist_mbids else ()
    recording = info.get("recording_mbid")
    recording = parse_mbid(recording) if recording else None
    if recording is None:
        recording = mapping.get("recording_mbid")
        recording = parse_mbid(recording) if recording else None
    release = info.get("release_mbid")
    release = parse_mbid(release) if release else None
    if release is None:
        release = mapping.get("release_mbid")
        release = parse_mbid(release) if release else None
    release_group = info.get("release_group_mbid")
    release_group = parse_mbid(release_group) if release_group else None
    duration = info.get("duration")
    duration = duration_seconds(duration) if duration else 0
    if not duration:
        ms = info.get("duration_ms")
        duration = duration_seconds(ms, per_second=1000) if ms else 0
    # ListenBrainz's Spotify importers keep Spotify's ms_played: how long the play lasted.
    played = info.get("ms_played")
    played = duration_seconds(played, per_second=1000) if played else 0
    client = info.get("media_player")
    if client.__class__ is not str or not clean or not client:
        client = ctx.optional_text(client, "media_player")
        if not client:
            client = ctx.optional_text(info.get("submission_client"), "submission_client")
    return new_scrobble(
        (
            listened_at,
            artist,
            track,
            album,
            names,
            artist_mbids,
            credits,
            recording,
            release,
            release_group,
            duration,
            client,
            position,
            None,
            played,
        ),
        ctx,
    )


def _read_member(archive: SafeZip, info: ZipInfo, ctx: ReadContext) -> Iterator[Record]:
    """The listens of one JSONL member, line by line; a bad line is skipped, a bad member is fatal.

    The loop is the hot path of the format (millions of lines), so the usual line costs one
    decode and one normalise call; everything unusual is sorted out after a decode fails.
    """
    name = member_name(info.filename)
    done = 0  # lines in the batches before this one
    decode = _decode_listen
    try:
        for lines in _line_batches(_without_bom(archive.chunks(info)), MAX_LINE_BYTES):
            # Empty lines are passed over in C (compress), so a member of nothing but newlines
            # costs no Python step per line.
            for number, line in compress(enumerate(lines, done + 1), lines):
                try:
                    if line is _TOO_LONG:
                        raise ValueError
                    listen = decode(line)
                except (ValueError, RecursionError, TypeError) as exc:  # not the usual shape
                    listen = _unusual_line(line, exc.__class__ is RecursionError)
                    if listen.__class__ is Skipped:
                        yield listen._replace(position=f"{name} line {number}")
                        continue
                    if listen is _BLANK:
                        continue
                position = f"{name} line {number}"
                # Both decoders refuse lone surrogates, so only an escaped NUL needs cleaning.
                ctx.clean_text = b"\\u0000" not in line
                try:
                    yield normalise(listen, position, ctx)
                except BadRecord as exc:
                    yield Skipped(SkipReason(exc.reason), position, str(exc))
            done += len(lines)
    except MEMBER_ERRORS as exc:
        raise ExportError(ctx.path, f"{name} line {done + 1}", f"damaged member: {exc}") from None


_BLANK = object()


def _without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks without a UTF-8 byte-order mark at the start (a member saved by a Windows
    editor): it would make the first line no JSON."""
    chunks = iter(chunks)
    head = b""
    for chunk in chunks:  # the mark may, in theory, be cut across chunks
        head += chunk
        if len(head) >= len(BOM_UTF8):
            break
    yield head.removeprefix(BOM_UTF8)
    yield from chunks


class _TooLong(bytes):
    """Stands for a line that grew past the limit (its text is dropped as it comes)."""


_TOO_LONG = _TooLong(b"line too long")


def _unusual_line(line: bytes, recursed: bool = False) -> Any:
    """A line msgspec would not decode by the schema: too long, blank, nested deeper than the
    caller's stack allowed it (``recursed``: decoded again on a fresh stack, so a Dagster run
    and the command line agree), of another shape (decoded in full), or not JSON; a Skipped
    (position to fill in) when it is no listen at all."""
    if recursed:
        try:
            return on_fresh_stack(_decode_listen, line)
        except (ValueError, RecursionError, TypeError):
            pass
    if line is _TOO_LONG or len(line) > MAX_LINE_BYTES:
        return Skipped(
            SkipReason.MALFORMED_RECORD, "", f"line longer than {MAX_LINE_BYTES:,} bytes"
        )
    if not line or line.isspace():
        return _BLANK
    try:
        return from_json(line)
    except ValueError as exc:  # not JSON, not UTF-8, a lone surrogate, too deep, a huge number
        problem = str(exc)
    if problem.startswith("number out of range"):
        # A number too big for pydantic-core (a 5,000-digit time): the standard library keeps it
        # as a Decimal, so the listen is judged (its time unparsable), not called "not JSON".
        try:
            return on_fresh_stack(_decode_with_long_numbers, line.decode("utf-8"))
        except (ValueError, RecursionError):
            pass
    if "recursion limit exceeded" in problem:
        problem = f"nested more than {NESTING_LIMIT} levels deep"
    return Skipped(SkipReason.MALFORMED_RECORD, "", f"not JSON ({shown(problem, 120)})")


def _decode_with_long_numbers(text: str) -> Any:
    # The other decoders refuse lone surrogates, and the reader trusts that (only NUL is
    # cleaned from a line's text): this one must refuse them too.
    if nested_too_deeply(text) or has_escapes(text):
        raise ValueError("not a line the usual decoders would take")
    return json.loads(text, parse_int=int_or_decimal)


def _line_batches(chunks: Iterable[bytes], limit: int) -> Iterator[list[bytes]]:
    """The lines of a byte stream given in chunks, a chunk's worth at a time, without their
    newline; _TOO_LONG for a line that grew past ``limit`` across chunks (its rest is dropped)."""
    pending: list[bytes] = []  # the start of a line that goes on in a later chunk
    pending_size = 0
    too_long = False
    for chunk in chunks:
        lines: list[Any] = chunk.split(b"\n")
        unfinished = lines.pop()
        if lines:
            if too_long:
                lines[0] = _TOO_LONG
            elif pending:
                pending.append(lines[0])
                lines[0] = b"".join(pending)
            pending, pending_size, too_long = [], 0, False
            yield lines
        if not too_long and unfinished:
            pending.append(unfinished)
            pending_size += len(unfinished)
            if pending_size > limit:
                pending, pending_size, too_long = [], 0, True
    if too_long:
        yield [_TOO_LONG]
    elif pending:
        yield [b"".join(pending)]


def _names(value: Any, ctx: ReadContext) -> tuple[str, ...]:
    """``additional_info.artist_names``: its non-blank strings."""
    if value.__class__ is not list:
        return ()
    names = (ctx.text(name, "artist_names") for name in value if name.__class__ is str)
    return tuple(check_name(name, "artist name") for name in names if name and not name.isspace())


def _credits(value: Any, ctx: ReadContext) -> tuple[tuple[str, str], ...]:
    """``mbid_mapping.artists`` as (credit name, MBID) pairs; entries lacking either are dropped."""
    if value.__class__ is not list:
        return ()
    pairs = []
    for credit in value:
        if credit.__class__ is not dict:
            continue
        name, mbid = credit.get("artist_credit_name"), credit.get("artist_mbid")
        if name.__class__ is not str or mbid.__class__ is not str:
            continue  # a name or MBID of another type counts as absent
        if not ctx.clean_text:
            name = ctx.text(name, "artist_credit_name")
        mbid = parse_mbid(mbid)
        if mbid and name and not name.isspace():
            pairs.append((check_name(name, "credited artist name"), mbid))
    return tuple(pairs)
