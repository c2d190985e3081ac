"""The two ways reading an export goes wrong: the whole file, or one record."""

from __future__ import annotations

from pathlib import Path

# A message is one line of a terminal: a hostile file cannot make it longer (a member name of
# 60,000 characters) or break it (a newline inside a name).
MAX_WHERE_CHARS = 200
MAX_MESSAGE_CHARS = 1200  # room for the list of formats we read
MAX_MEMBER_NAME_CHARS = 120  # a zip member's name as positions and messages show it


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split()) if any(c in text for c in "\r\n\t\v\f") else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def member_name(name: str) -> str:
    """A zip member's name as a position shows it: one line, at most MAX_MEMBER_NAME_CHARS.

    Every record's position repeats it, so a name of 60,000 characters must not be copied into
    millions of records."""
    return one_line(name, MAX_MEMBER_NAME_CHARS)


class ExportError(Exception):
    """A file we cannot read as a whole; the message names the file and the place, on one line."""

    def __init__(self, path: Path | str, where: str, message: str) -> None:
        self.path = Path(path)
        self.where = one_line(where, MAX_WHERE_CHARS)
        self.message = one_line(message, MAX_MESSAGE_CHARS)
        place = f"{self.where}: " if self.where else ""
        super().__init__(f"{one_line(self.path.name, MAX_WHERE_CHARS)}: {place}{self.message}")

    def __reduce__(self) -> tuple:
        # A worker process sends it back pickled: rebuild it from the same three parts.
        return (self.__class__, (self.path, self.where, self.message))


class BadRecord(Exception):
    """One record has the wrong shape; the reader skips it as malformed and goes on."""

    reason = "malformed_record"  # the SkipReason value the record is skipped with


class NameTooLong(BadRecord):
    """One record names something longer than Koito's alias keys can index: skipped as such."""

    reason = "name_too_long"
