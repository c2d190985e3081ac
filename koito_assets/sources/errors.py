"""The two ways reading an export goes wrong: the whole file, or one record."""

from __future__ import annotations

from pathlib import Path


class ExportError(Exception):
    """A file we cannot read as a whole; the message names the file and the place, on one line."""

    def __init__(self, path: Path | str, where: str, message: str) -> None:
        self.path = Path(path)
        self.where = where
        self.message = message
        place = f"{where}: " if where else ""
        super().__init__(f"{self.path.name}: {place}{message}")


class BadRecord(Exception):
    """One record has the wrong shape; the reader skips it as malformed and goes on."""
