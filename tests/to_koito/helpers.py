"""Shared by the export tests: importing files through the asset graph, reading an export back,
and checking a file against everything Koito's importer of export files needs."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg

from koito_assets.defs.imports import ledger
from koito_assets.defs.imports.assets import IMPORT_ASSETS
from koito_assets.defs.imports.partitions import export_files
from koito_assets.settings_resource import SettingsResource
from tests.defs.resources import import_resources

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
# Go's unicode.IsSpace: what Koito trims from a name before saving it.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def isolated_settings(config_dir: Path) -> SettingsResource:
    """A test's own settings: its config folder, MusicBrainz off (never the internet)."""
    return SettingsResource(
        overrides={"KOITO_CONFIG_DIR": str(config_dir), "KOITO_DISABLE_MUSICBRAINZ": "true"}
    )


def import_file(
    db_url: str, path: Path, instance: dg.DagsterInstance, settings: SettingsResource
) -> str:
    """Import one file through the import assets, as ``koito-import import`` does; return its
    partition key (its name, with a content hash when another file took that name first)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        file_id = ledger.register_file(conn, path.name, path)
        file_key = conn.execute(
            "SELECT file_key FROM koito_import.import_files WHERE id = %s", (file_id,)
        ).fetchone()[0]
    instance.add_dynamic_partitions(export_files.name, [file_key])
    result = dg.materialize(
        IMPORT_ASSETS,
        partition_key=file_key,
        instance=instance,
        resources=import_resources(db_url, settings),
        raise_on_error=False,
    )
    assert result.success, f"import of {path.name} failed"
    assert all(check.passed for check in result.get_asset_check_evaluations())
    return file_key


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _is_mbid(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value and value != str(uuid.UUID(int=0))
    except ValueError:
        return False


def _alias_problems(where: str, aliases: Any) -> list[str]:
    if not isinstance(aliases, list) or not aliases:
        return [f"{where}: no aliases"]
    problems = []
    names = [a.get("alias") for a in aliases]
    if sum(1 for a in aliases if a.get("is_primary") is True) != 1:
        problems.append(f"{where}: not exactly one primary alias")
    for name in names:
        if not isinstance(name, str) or not name.strip(GO_SPACE):
            problems.append(f"{where}: blank alias {name!r}")
        elif name != name.strip(GO_SPACE):
            problems.append(f"{where}: alias with surrounding spaces {name!r}")
    if len(set(names)) != len(names):
        problems.append(f"{where}: an alias twice")
    if not all(isinstance(a.get("source"), str) for a in aliases):
        problems.append(f"{where}: an alias without a source")
    return problems


def koito_importer_problems(document: dict[str, Any]) -> list[str]:
    """Everything in the file that Koito's importer of export files would fail on or get wrong.

    Version "1"; RFC 3339 UTC times; at least one artist per listen; one primary alias per
    entity, none blank or with surrounding spaces; MBIDs as UUID strings or null; client a
    string; integer durations; no artist that Koito would resolve twice on one listen."""
    problems = []
    if document.get("version") != "1":
        problems.append(f"version {document.get('version')!r}")
    if not RFC3339_UTC.fullmatch(str(document.get("exported_at"))):
        problems.append(f"exported_at {document.get('exported_at')!r}")
    if not isinstance(document.get("user"), str):
        problems.append("user is not a string")
    for number, listen in enumerate(document.get("listens", [])):
        where = f"listen {number}"
        if not RFC3339_UTC.fullmatch(str(listen.get("listened_at"))):
            problems.append(f"{where}: listened_at {listen.get('listened_at')!r}")
        if not isinstance(listen.get("client"), str):
            problems.append(f"{where}: client {listen.get('client')!r}")
        track, album, artists = listen.get("track"), listen.get("album"), listen.get("artists")
        if not isinstance(track, dict) or not isinstance(album, dict):
            problems.append(f"{where}: no track or album object")
            continue
        if not isinstance(track.get("duration"), int) or isinstance(track.get("duration"), bool):
            problems.append(f"{where}: duration {track.get('duration')!r}")
        if not isinstance(album.get("various_artists"), bool):
            problems.append(f"{where}: various_artists {album.get('various_artists')!r}")
        entities = [("track", track), ("album", album)]
        if not isinstance(artists, list) or not artists:
            problems.append(f"{where}: no artists")
            artists = []
        entities += [(f"artist {n}", a) for n, a in enumerate(artists)]
        for kind, entity in entities:
            if not _is_mbid(entity.get("mbid")):
                problems.append(f"{where} {kind}: mbid {entity.get('mbid')!r}")
            problems += _alias_problems(f"{where} {kind}", entity.get("aliases"))
            if kind != "track" and not isinstance(entity.get("image_url"), str):
                problems.append(f"{where} {kind}: image_url {entity.get('image_url')!r}")
        if [a.get("is_primary") for a in artists] != [n == 0 for n in range(len(artists))]:
            problems.append(f"{where}: the first artist, and only it, is not marked primary")
        problems += _repeated_artists(where, artists)
    return problems


def _primary(entity: dict[str, Any]) -> str:
    return next(a["alias"] for a in entity["aliases"] if a["is_primary"])


def _repeated_artists(where: str, artists: list[dict[str, Any]]) -> list[str]:
    """Koito resolves an artist by its MBID when it has one, else by any alias equal to its name."""
    problems = []
    for later_at, later in enumerate(artists):
        for earlier in artists[:later_at]:
            names = {a["alias"] for a in earlier["aliases"]}
            later_names = {a["alias"] for a in later["aliases"]}
            if earlier["mbid"] and later["mbid"]:
                same = earlier["mbid"] == later["mbid"]
            else:
                same = (not later["mbid"] and _primary(later) in names) or (
                    not earlier["mbid"] and _primary(earlier) in later_names
                )
            if same:
                problems.append(f"{where}: artist {_primary(later)!r} resolves like an earlier one")
    return problems


def primary_alias(entity: dict[str, Any]) -> str:
    return _primary(entity)
