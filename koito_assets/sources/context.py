"""What a reader needs besides the file: the import rules from settings, and the file's counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from koito_assets.settings import Settings
from koito_assets.sources.errors import BadRecord
from koito_assets.sources.fields import MAX_UNIX


@dataclass(slots=True)
class ExportStats:
    """Counters of one file, filled in while it is read."""

    accepted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # SkipReason value -> count
    nul_stripped: int = 0  # NUL characters removed from text (PostgreSQL text cannot hold them)

    @property
    def records(self) -> int:
        return self.accepted + sum(self.skipped.values())


class ReadContext:
    """The rules a reader applies (Koito's time window, the Spotify play rule) and its text hygiene."""

    __slots__ = ("path", "after", "before", "spotify_play_rule", "processes", "stats", "clean_text")

    def __init__(self, path: Path, settings: Settings, stats: ExportStats) -> None:
        # Koito's window is inclusive at both ends; an unset bound is no bound.
        self._set(
            path,
            (
                settings.import_after_unix or 0,
                settings.import_before_unix or MAX_UNIX,
                settings.spotify_play_rule,
                settings.parse_processes,
            ),
            stats,
        )

    @property
    def rules(self) -> tuple[int, int, str, int]:
        """What a worker process needs to judge records as this context does (no settings)."""
        return self.after, self.before, self.spotify_play_rule, self.processes

    @classmethod
    def in_worker(cls, path: Path, rules: tuple[int, int, str, int]) -> ReadContext:
        """A context for a worker process reading part of ``path`` under the reader's ``rules``."""
        ctx = cls.__new__(cls)
        ctx._set(path, rules, ExportStats())
        return ctx

    def _set(self, path: Path, rules: tuple[int, int, str, int], stats: ExportStats) -> None:
        self.path = path
        self.after, self.before, self.spotify_play_rule, self.processes = rules
        self.stats = stats
        # Set by a reader that knows the record's source text holds no NUL and no lone surrogate
        # (JSON can only spell those as \u escapes, and it has none): text() then trusts it.
        self.clean_text = False

    def text(self, value: object, name: str) -> str:
        """A text field without NUL characters; null is "", any other type a malformed record."""
        if value.__class__ is str:
            if self.clean_text:
                return value
            if "\x00" in value:
                self.stats.nul_stripped += value.count("\x00")
                value = value.replace("\x00", "")
            if not value.isascii():
                _require_encodable(value, name)
            return value
        if value is None:
            return ""
        raise BadRecord(f"{name} is not text")

    def optional_text(self, value: object, name: str) -> str:
        """An optional text field: of the wrong type it counts as absent, like a null."""
        return self.text(value, name) if value.__class__ is str else ""


def _require_encodable(value: str, name: str) -> None:
    # json decoders turn an escaped lone surrogate ("\ud83d") into a str PostgreSQL cannot store.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRecord(f"{name} holds a lone UTF-16 surrogate, not text") from None
