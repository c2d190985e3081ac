"""What a reader needs besides the file: the import rules from settings, and the file's counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from koito_assets.settings import Settings
from koito_assets.sources.errors import BadRecord
from koito_assets.sources.fields import MAX_NAME_BYTES, MAX_TEXT_CHARS
from koito_assets.sources.record import Skipped, SkipReason

# A clock a little ahead, or a time zone read wrongly, may put a play in the next hours; a play
# more than a day ahead did not happen yet.
FUTURE_ALLOWANCE_S = 86_400
# Times from the year Last.fm (Audioscrobbler) began: what a time in the wrong unit lands near.
EARLIEST_HISTORY = 1_009_843_200  # 2002-01-01T00:00:00Z

# What a reader may note about a file while reading it (ExportStats.notes): the kind, and the
# sentence that says it, given the count and the first example.
TEXT_CUT = "text_cut"
ALIAS_DROPPED = "alias_dropped"
LOOKS_LIKE_MILLISECONDS = "looks_like_milliseconds"
LOOKS_LIKE_SECONDS = "looks_like_seconds"
_NOTE_TEXT = {
    TEXT_CUT: "{count:,} text value(s) longer than {limit:,} characters cut to that length "
    "(first: {example})",
    ALIAS_DROPPED: "{count:,} alias(es) longer than {name_limit:,} bytes, which Koito's alias "
    "keys cannot index, left out (first: {example})",
    LOOKS_LIKE_MILLISECONDS: "{count:,} time(s) look like milliseconds where this format writes "
    "seconds (first: {example}): skipped as time_out_of_range",
    LOOKS_LIKE_SECONDS: "{count:,} time(s) look like seconds where this format writes "
    "milliseconds (first: {example}): skipped as time_out_of_range",
}


@dataclass(slots=True)
class ExportStats:
    """Counters of one file, filled in while it is read."""

    accepted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # SkipReason value -> count
    nul_stripped: int = 0  # NUL characters removed from text (PostgreSQL text cannot hold them)
    notes: dict[str, list] = field(default_factory=dict)  # note kind -> [count, first example]

    @property
    def records(self) -> int:
        return self.accepted + sum(self.skipped.values())

    def note(self, kind: str, example: str) -> None:
        """Count one occurrence of a note ``kind``; the first one's ``example`` is kept."""
        known = self.notes.get(kind)
        if known is None:
            self.notes[kind] = [1, example]
        else:
            known[0] += 1

    def take_delta(self) -> tuple[int, dict[str, list]]:
        """What was counted since the last call (a worker's share), and start again from zero."""
        delta = (self.nul_stripped, self.notes)
        self.nul_stripped, self.notes = 0, {}
        return delta

    def add_delta(self, delta: tuple[int, dict[str, list]]) -> None:
        nul_stripped, notes = delta
        self.nul_stripped += nul_stripped
        for kind, (count, example) in notes.items():
            known = self.notes.get(kind)
            if known is None:
                self.notes[kind] = [count, example]
            else:
                known[0] += count

    def note_lines(self) -> list[str]:
        """The notes as sentences, in a fixed order."""
        return [
            _NOTE_TEXT[kind].format(
                count=self.notes[kind][0],
                example=self.notes[kind][1],
                limit=MAX_TEXT_CHARS,
                name_limit=MAX_NAME_BYTES,
            )
            for kind in _NOTE_TEXT
            if kind in self.notes
        ]


Rules = tuple[int, int, int, str, int]


class ReadContext:
    """The rules a reader applies (Koito's time window, the Spotify play rule) and its text hygiene.

    ``after`` and ``before`` are the inclusive bounds a listen must fall in: the configured time
    window, narrowed to the plausible (after 1970-01-01, at most a day ahead of now). A time
    outside them is judged by :meth:`outside`.
    """

    __slots__ = (
        "path",
        "after",
        "before",
        "latest",
        "spotify_play_rule",
        "processes",
        "stats",
        "clean_text",
    )

    def __init__(
        self, path: Path, settings: Settings, stats: ExportStats, *, now: float | None = None
    ) -> None:
        latest = int(time.time() if now is None else now) + FUTURE_ALLOWANCE_S
        # Koito's window is inclusive at both ends; an unset bound is no bound.
        after = max(settings.import_after_unix or 0, 1)
        before = min(settings.import_before_unix or latest, latest)
        self._set(
            path,
            (after, before, latest, settings.spotify_play_rule, settings.parse_processes),
            stats,
        )

    @property
    def rules(self) -> Rules:
        """What a worker process needs to judge records as this context does (no settings)."""
        return self.after, self.before, self.latest, self.spotify_play_rule, self.processes

    @classmethod
    def in_worker(cls, path: Path, rules: Rules) -> ReadContext:
        """A context for a worker process reading part of ``path`` under the reader's ``rules``."""
        ctx = cls.__new__(cls)
        ctx._set(path, rules, ExportStats())
        return ctx

    def _set(self, path: Path, rules: Rules, stats: ExportStats) -> None:
        self.path = path
        self.after, self.before, self.latest, self.spotify_play_rule, self.processes = rules
        self.stats = stats
        # Set by a reader that knows the record's source text holds no NUL and no lone surrogate
        # (JSON can only spell those as \u escapes, and it has none): text() then trusts it.
        self.clean_text = False

    def outside(self, listened_at: int, position: str, *, per_second: int = 1) -> Skipped:
        """Why a time outside [after, before] is skipped: out of any plausible range, or
        outside the configured window. ``per_second`` is the format's unit (1000: ms), so a
        value written in the other unit is recognised and noted."""
        if listened_at <= 0:
            return Skipped(SkipReason.TIME_OUT_OF_RANGE, position, f"{listened_at}: not after 1970")
        if listened_at > self.latest:
            if per_second == 1 and EARLIEST_HISTORY <= listened_at // 1000 <= self.latest:
                self.stats.note(LOOKS_LIKE_MILLISECONDS, f"{listened_at} at {position}")
                detail = f"{listened_at}: in the future; milliseconds?"
            else:
                detail = f"{listened_at}: more than a day in the future"
            return Skipped(SkipReason.TIME_OUT_OF_RANGE, position, detail)
        return Skipped(SkipReason.OUTSIDE_TIME_WINDOW, position)

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

    def cut(self, text: str, name: str, position: str) -> str:
        """Text that is not a name (a client, an image URL) cut to MAX_TEXT_CHARS, noted."""
        if len(text) <= MAX_TEXT_CHARS:
            return text
        where = f" at {position}" if position else ""
        self.stats.note(TEXT_CUT, f"{name} of {len(text):,} characters{where}")
        return text[:MAX_TEXT_CHARS]


def _require_encodable(value: str, name: str) -> None:
    # json decoders turn an escaped lone surrogate ("\ud83d") into a str PostgreSQL cannot store.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRecord(f"{name} holds a lone UTF-16 surrogate, not text") from None
