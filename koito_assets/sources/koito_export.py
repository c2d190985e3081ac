"""Koito's own export, version 1: listens with their artists, album and track resolved.

The format: docs/koito-reference.md §4; Koito's importer of it: docs/koito-reference.md §3.6.

``Scrobble.koito`` carries the exported entities as they are (artists in array order, position 0
being the primary artist, since the export's ``is_primary`` is never set). For the lookup key
and reports the Scrobble also gets: artist = the first artist's primary alias, track and album =
their primary aliases, artist names = every artist's primary alias, the MBIDs (invalid or nil ones
absent), the track duration and the exported client. ``listened_at`` is floored to whole seconds
like every source (Koito's exports already are). Names come from primary aliases only, as in
Koito, so a listen with no artists or whose first artist has no primary alias is skipped as
``missing_artist`` (Koito panics or aborts the file); blank aliases are dropped (Koito's alias
insert would reject them). The ``version`` must be "1"; a file whose version comes after its
listens is only refused at the end of reading, like a truncated file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import msgspec
from pydantic_core import from_json

from koito_assets.sources.context import ALIAS_DROPPED, ReadContext
from koito_assets.sources.errors import BadRecord, ExportError
from koito_assets.sources.fields import (
    MAX_TEXT_CHARS,
    duration_seconds,
    iso_seconds,
    name_too_long,
    parse_mbid,
    shown,
)
from koito_assets.sources.reader import Record, check_name, new_scrobble, numbered, open_json
from koito_assets.sources.record import KoitoAlias, KoitoEntity, KoitoListen, Skipped, SkipReason

FORMAT = "koito"
VERSION = "1"
_NO_ENTITY = KoitoEntity(None, ())


class _Listen(TypedDict, total=False):
    """A listen with its entities left as JSON text (msgspec skips them unparsed)."""

    listened_at: Any
    client: Any
    track: msgspec.Raw
    album: msgspec.Raw
    artists: list[msgspec.Raw] | None


_decode_schema = msgspec.json.Decoder(list[_Listen]).decode


class _EntityText:
    """An entity's JSON text, decoded, on its way to normalisation; the normalised entity is
    remembered under the text when nothing in it could have been noted about."""

    __slots__ = ("value", "key", "known")

    def __init__(self, value: Any, key: bytes, known: _KnownEntities) -> None:
        self.value = value
        self.key = key
        self.known = known


class _KnownEntities:
    """A file's entities by their JSON text: an export repeats each artist, album and track in
    full at every listen, so a text seen before is not decoded or normalised again.

    Bounded by the bytes of text held (emptied when full). A file whose entities rarely repeat
    gains nothing and pays for the look-ups, so after ``_TRIAL`` look-ups with fewer than half
    hits the rest of the file is decoded in full, as before this memo existed."""

    _BUDGET_BYTES = 4 << 20
    _TRIAL = 5000

    def __init__(self) -> None:
        self.entities: dict[bytes, KoitoEntity] = {}
        self.held_bytes = 0
        self.lookups = self.hits = 0
        self.useful = True

    def decode(self, text: str) -> list[Any]:
        """A stretch of listens, each entity its known KoitoEntity or its decoded text. Text
        pydantic-core would not decode (a huge number, deep nesting) refuses the stretch, which
        is then decoded element by element in full, like every other format's."""
        if not self.useful:
            return from_json(text)
        listens = _decode_schema(text)
        for listen in listens:
            for field in ("track", "album"):
                raw = listen.get(field)
                if raw is not None:
                    listen[field] = self._entity(raw)
            artists = listen.get("artists")
            if artists:
                listen["artists"] = [self._entity(raw) for raw in artists]
        if self.lookups >= self._TRIAL and self.hits * 2 < self.lookups:
            self.useful = False
        return listens

    def _entity(self, raw: msgspec.Raw) -> KoitoEntity | _EntityText:
        key = bytes(raw)
        self.lookups += 1
        known = self.entities.get(key)
        if known is not None:
            self.hits += 1
            return known
        return _EntityText(from_json(key), key, self)

    def remember(self, key: bytes, entity: KoitoEntity) -> None:
        if self.held_bytes + len(key) > self._BUDGET_BYTES:
            self.entities.clear()
            self.held_bytes = 0
        self.entities[key] = entity
        self.held_bytes += len(key)


def read(path: Path, ctx: ReadContext) -> Iterator[Record]:
    """Every listen of the export, in file order."""
    version_seen = False
    with open_json(path) as stream:
        for key in stream.members():
            if key == "version":
                where = f"byte {stream.byte_offset()}"
                version = stream.value()
                if version != VERSION:
                    raise ExportError(path, where, _version_problem(version))
                version_seen = True
            elif key == "listens" and stream.peek() == "[":
                yield from numbered(stream, stream.items(_KnownEntities().decode), normalise, ctx)
            else:
                stream.value()
        stream.end()
    if not version_seen:
        raise ExportError(path, "", "no version field: not a Koito export we read (version 1)")


def normalise(listen: Any, position: str, ctx: ReadContext) -> Record:
    """One exported listen as a Scrobble carrying its entities, or the reason it is skipped."""
    if listen.__class__ is not dict:
        raise BadRecord("a listen is not an object")
    track = _entity(listen.get("track"), "track", ctx)
    album = _entity(listen.get("album"), "album", ctx)
    exported_artists = listen.get("artists")
    if exported_artists is None:
        exported_artists = []
    elif exported_artists.__class__ is not list:
        raise BadRecord("artists is not a list")
    artists = tuple(_entity(artist, "artist", ctx) for artist in exported_artists)
    client = ctx.text(listen.get("client"), "client")

    listened_at = iso_seconds(listen.get("listened_at"))
    if listened_at is None:
        detail = f"listened_at {shown(listen.get('listened_at'))}"
        return Skipped(SkipReason.UNPARSABLE_TIME, position, detail)
    if not artists:
        return Skipped(SkipReason.MISSING_ARTIST, position, "no artists")
    artist_names = [_primary_alias(entity) for entity in artists]
    blank = [number for number, name in enumerate(artist_names, 1) if not name.strip()]
    if blank:  # Koito would fail creating an artist named "" (and abort the whole file)
        return Skipped(
            SkipReason.MISSING_ARTIST, position, f"artist {blank[0]} has no primary alias"
        )
    title = _primary_alias(track)
    if not title:
        return Skipped(SkipReason.MISSING_TITLE, position)
    if not ctx.after <= listened_at <= ctx.before:
        return ctx.outside(listened_at, position)

    names = tuple(artist_names)
    mbids = tuple(dict.fromkeys(entity.mbid for entity in artists if entity.mbid))
    mappings = tuple(
        (name, entity.mbid)
        for name, entity in zip(artist_names, artists, strict=True)
        if entity.mbid
    )
    return new_scrobble(
        (
            listened_at,
            artist_names[0],
            title,
            _primary_alias(album),
            names,
            mbids,
            mappings,
            track.mbid,
            album.mbid,
            None,
            track.duration_s,
            client,
            position,
            KoitoListen(track, album, artists),
            0,  # a Koito export keeps no play lengths
        ),
        ctx,
    )


def _version_problem(version: Any) -> str:
    """Why ``version`` is not the one we read, in words that point at the real problem."""
    if version.__class__ is int or version.__class__ is float:
        return (
            f'"version" is the number {shown(version)}, not the text "{VERSION}" a Koito '
            "export writes (Koito refuses it too)"
        )
    if version.__class__ is str:
        return f"Koito export version {shown(version)}; we read version {VERSION}"
    return f'"version" is {shown(version)}, not the text "{VERSION}" a Koito export writes'


def _entity(value: Any, kind: str, ctx: ReadContext) -> KoitoEntity:
    """An exported artist, album or track; a null one has no aliases (and so no name)."""
    if value.__class__ is KoitoEntity:  # known by its text (_KnownEntities)
        return value
    if value.__class__ is _EntityText:
        entity = _entity(value.value, kind, ctx)
        # Remembered only if it can have noted nothing: text of at most MAX_TEXT_CHARS bytes has
        # nothing to cut and no name too long, and a window without escapes strips no NUL.
        if len(value.key) <= MAX_TEXT_CHARS and ctx.clean_text:
            value.known.remember(value.key, entity)
        return entity
    if value is None:
        return _NO_ENTITY
    if value.__class__ is not dict:
        raise BadRecord(f"{kind} is not an object")
    image_url = ctx.optional_text(value.get("image_url"), "image_url")
    if len(image_url) > MAX_TEXT_CHARS:
        image_url = ctx.cut(image_url, f"{kind} image_url", "")
    return KoitoEntity(
        parse_mbid(value.get("mbid")),
        _aliases(value.get("aliases"), kind, ctx),
        image_url,
        value.get("various_artists") is True,
        duration_seconds(value.get("duration")),
    )


def _aliases(value: Any, kind: str, ctx: ReadContext) -> tuple[KoitoAlias, ...]:
    """The exported aliases (``null`` when a Postgres export had none); blank ones are dropped,
    and so are other aliases than the primary one too long for Koito's alias keys (noted; a
    primary one that long skips the listen as ``name_too_long``)."""
    if value is None:
        return ()
    if value.__class__ is not list:
        raise BadRecord(f"{kind} aliases is not a list")
    aliases = []
    for entry in value:
        if entry.__class__ is not dict:
            raise BadRecord(f"a {kind} alias is not an object")
        alias = ctx.text(entry.get("alias"), "alias")
        if alias and not alias.isspace():
            is_primary = entry.get("is_primary") is True
            if is_primary:
                check_name(alias, f"{kind} name")
            elif name_too_long(alias):
                ctx.stats.note(ALIAS_DROPPED, f"a {kind} alias of {len(alias):,} characters")
                continue
            source = ctx.optional_text(entry.get("source"), "alias source")
            if len(source) > MAX_TEXT_CHARS:
                source = ctx.cut(source, f"{kind} alias source", "")
            aliases.append(KoitoAlias(alias, source, is_primary))
    return tuple(aliases)


def _primary_alias(entity: KoitoEntity) -> str:
    for alias in entity.aliases:
        if alias.is_primary:
            return alias.alias
    return ""


def looks_like(item: Any) -> bool:
    """Whether the first element of ``listens`` is an exported listen (for detection)."""
    return (
        item.__class__ is dict and "listened_at" in item and ("track" in item or "artists" in item)
    )
