"""Shared by the sources tests: the fixture folder, settings, and reading a file whole."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from koito_assets.settings import Settings
from koito_assets.sources import Export, Scrobble, Skipped, open_export

FIXTURES = Path(__file__).parent / "fixtures"
LISTENBRAINZ_EXPORT = FIXTURES / "listenbrainz"


def settings(**changes: Any) -> Settings:
    """Default settings (no time window, trackdone rule) with ``changes``."""
    return replace(Settings(), **changes)


def read_all(
    path: Path, settings_: Settings | None = None
) -> tuple[Export, list[Scrobble | Skipped]]:
    export = open_export(path, settings_ or settings())
    return export, list(export)


def by_position(records: list[Scrobble | Skipped]) -> dict[str, Scrobble | Skipped]:
    positions = [record.position for record in records]
    assert len(set(positions)) == len(positions), "positions must be unique"
    return dict(zip(positions, records, strict=True))


def accepted(records: list[Scrobble | Skipped]) -> list[Scrobble]:
    return [record for record in records if isinstance(record, Scrobble)]


def copy_fixture(name: str, folder: Path, as_name: str | None = None) -> Path:
    target = folder / (as_name or name)
    shutil.copyfile(FIXTURES / name, target)
    return target


def zip_listenbrainz(
    folder: Path,
    name: str = "listenbrainz_example_1709402230.zip",
    extra_members: dict[str, bytes] | None = None,
) -> Path:
    """The ListenBrainz export fixture as the zip ListenBrainz hands out, plus ``extra_members``."""
    target = folder / name
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in (
            "user.json",
            "listens/2024/2.jsonl",
            "listens/2024/3.jsonl",
            "feedback.jsonl",
        ):
            archive.write(LISTENBRAINZ_EXPORT / member, member)
        for member, data in (extra_members or {}).items():
            archive.writestr(member, data)
    return target
