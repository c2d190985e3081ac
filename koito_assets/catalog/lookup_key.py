"""The track_lookup key of a record: every input that can change its resolution.

Why every input, and not PR #234's lower-cased three-part key: docs/design.md §5.2.

Formats (fields joined with U+001F, lists with U+001E, a mapping's name and MBID with U+001D):

- ``s␟artist␟track␟album``: a record with no artist-name list and no MBIDs (the common case).
- ``m␟artist␟track␟album␟names␟artist MBIDs␟mappings␟recording␟release␟release group``.
- ``k␟track MBID␝track␟album MBID␝album␟artist MBID␝artist␞…``: a Koito-export record, by the
  MBIDs and primary aliases the Koito importer matches on (docs/koito-reference.md §3.6).
- ``sha256:<hex>``: any of the above longer than 256 characters, or one whose text holds a
  separator or NUL; then the hash is over a JSON encoding, which cannot be ambiguous.

Text is kept exactly as given (case, spaces, Unicode form), because Koito's matching is exact.
``lookup_key`` runs once per record of a file, so the common case is one f-string and two scans.
"""

from __future__ import annotations

import hashlib
import json

from koito_assets.sources.record import KoitoEntity, KoitoListen, Scrobble

SEP = "\x1f"
LIST_SEP = "\x1e"
PAIR_SEP = "\x1d"
MAX_PLAIN_LENGTH = 256
HASH_PREFIX = "sha256:"


def _hashed(fields: object) -> str:
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return HASH_PREFIX + hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _inner_separator(texts: list[str]) -> bool:
    return any(LIST_SEP in t or PAIR_SEP in t for t in texts)


def primary_alias(entity: KoitoEntity) -> str:
    """The alias a Koito export marks primary (the first one, if several); "" when none is."""
    for alias in entity.aliases:
        if alias.is_primary:
            return alias.alias
    return ""


def _koito_key(listen: KoitoListen) -> str:
    def part(entity: KoitoEntity) -> str:
        return f"{entity.mbid or ''}{PAIR_SEP}{primary_alias(entity)}"

    names = [primary_alias(e) for e in (listen.track, listen.album, *listen.artists)]
    artists = LIST_SEP.join(part(e) for e in listen.artists)
    raw = f"k{SEP}{part(listen.track)}{SEP}{part(listen.album)}{SEP}{artists}"
    if (
        len(raw) > MAX_PLAIN_LENGTH
        or raw.count(SEP) != 3
        or "\x00" in raw
        or _inner_separator(names)
    ):
        entities = (listen.track, listen.album, *listen.artists)
        return _hashed(["k", [[e.mbid, n] for e, n in zip(entities, names, strict=True)]])
    return raw


def lookup_key(record: Scrobble) -> str:
    """The cache key of ``record``: equal keys resolve to the same artist, album and track."""
    if record.koito is not None:
        return _koito_key(record.koito)
    if not (
        record.artist_names
        or record.artist_mbids
        or record.artist_mbid_mappings
        or record.recording_mbid
        or record.release_mbid
        or record.release_group_mbid
    ):
        raw = f"s{SEP}{record.artist}{SEP}{record.track}{SEP}{record.album}"
        if len(raw) > MAX_PLAIN_LENGTH or raw.count(SEP) != 3 or "\x00" in raw:
            return _hashed(["s", record.artist, record.track, record.album])
        return raw
    mapping_names = [name for name, _ in record.artist_mbid_mappings]
    raw = SEP.join(
        (
            "m",
            record.artist,
            record.track,
            record.album,
            LIST_SEP.join(record.artist_names),
            LIST_SEP.join(record.artist_mbids),
            LIST_SEP.join(f"{name}{PAIR_SEP}{mbid}" for name, mbid in record.artist_mbid_mappings),
            record.recording_mbid or "",
            record.release_mbid or "",
            record.release_group_mbid or "",
        )
    )
    if (
        len(raw) > MAX_PLAIN_LENGTH
        or raw.count(SEP) != 9
        or "\x00" in raw
        or _inner_separator([*record.artist_names, *record.artist_mbids, *mapping_names])
    ):
        return _hashed(
            [
                "m",
                record.artist,
                record.track,
                record.album,
                list(record.artist_names),
                list(record.artist_mbids),
                [list(m) for m in record.artist_mbid_mappings],
                record.recording_mbid,
                record.release_mbid,
                record.release_group_mbid,
            ]
        )
    return raw


def lookup_mbids(record: Scrobble) -> list[str]:
    """Every MBID a record's resolution may look up: when one of them gains an entity, the
    record's answer can change, so track_lookup keeps them for invalidation."""
    if record.koito is not None:
        k = record.koito
        found = [e.mbid for e in (k.track, k.album, *k.artists) if e.mbid]
    elif not (
        record.artist_mbids
        or record.artist_mbid_mappings
        or record.recording_mbid
        or record.release_mbid
    ):
        return []
    else:
        found = [*record.artist_mbids, *(m for _, m in record.artist_mbid_mappings)]
        found += [m for m in (record.recording_mbid, record.release_mbid) if m]
    return sorted(set(found))
