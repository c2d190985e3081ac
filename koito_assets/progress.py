"""Progress inside one file's import: each stage reports its own counts, listeners show them.

A step opens a stage and reports as it goes::

    reading = stage_progress(context, "reading", unit="records")
    for ...: reading(done)            # or reading(done, total) when the total is known
    reading.finish(done)

Every report reaches two places: the run's log (at most one line per ``LOG_EVERY_S`` while the
stage runs, and one line when it finishes, so a big file leaves a readable trail and a small
one a line per stage) and every listener registered in this process with :func:`listening`
(``koito-import``'s terminal bar; runs launched by the daemon have none). A report is a call
``(done, total)``, so any code that takes a ``Callable[[int, int | None], None]`` progress
callback (MusicBrainz requests done of planned, say) can be handed a stage directly, from any
thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import dagster as dg

LOG_EVERY_S = 5.0


@dataclass(frozen=True)
class ProgressEvent:
    """One report of one stage of one file's import."""

    file_key: str
    stage: str  # what the import is doing: "reading", "resolving", "inserting listens", …
    done: int  # units done so far in this stage
    total: int | None  # units planned, when known
    unit: str  # what is counted: "records", "keys", "requests", …
    finished: bool = False  # the stage's last report
    seconds: float = 0.0  # since the stage began


Listener = Callable[[ProgressEvent], None]


class RunLog(Protocol):
    """What a stage needs of a Dagster context's log."""

    def info(self, msg: str) -> None: ...


_listeners: list[Listener] = []
_listeners_lock = threading.Lock()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every progress event of this process to ``listener`` for the duration of the block."""
    with _listeners_lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _listeners_lock:
            _listeners.remove(listener)


def publish(event: ProgressEvent) -> None:
    """Hand ``event`` to every registered listener (a listener's failure never fails the run)."""
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # noqa: BLE001 - a broken terminal must not stop an import
            pass


def _count(value: int) -> str:
    return f"{value:,}"


class StageProgress:
    """The progress of one stage: call it with ``(done, total)``, then :meth:`finish` it."""

    def __init__(
        self,
        log: RunLog | None,
        file_key: str,
        stage: str,
        *,
        unit: str = "records",
        total: int | None = None,
        log_every_s: float = LOG_EVERY_S,
    ) -> None:
        self.log = log
        self.file_key = file_key
        self.stage = stage
        self.unit = unit
        self.total = total
        self.done = 0
        self._log_every_s = log_every_s
        self._started = time.monotonic()
        self._last_logged = self._started
        self._lock = threading.Lock()
        publish(self._event())

    def _event(self, finished: bool = False) -> ProgressEvent:
        return ProgressEvent(
            self.file_key,
            self.stage,
            self.done,
            self.total,
            self.unit,
            finished,
            round(time.monotonic() - self._started, 3),
        )

    def _describe(self) -> str:
        counted = _count(self.done)
        if self.total is not None:
            counted += f" of {_count(self.total)}"
        return f"{self.file_key}: {self.stage}, {counted} {self.unit}"

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report ``done`` units so far (and the planned ``total``, when it becomes known)."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            event = self._event()
            now = time.monotonic()
            due = now - self._last_logged >= self._log_every_s
            if due:
                self._last_logged = now
        publish(event)
        if due and self.log is not None:
            self.log.info(f"{self._describe()} ({event.seconds:.0f} s)")

    def finish(self, done: int | None = None, total: int | None = None) -> None:
        """The stage is over: one log line with its counts and seconds, and a last event."""
        with self._lock:
            if done is not None:
                self.done = done
            if total is not None:
                self.total = total
            event = self._event(finished=True)
        publish(event)
        if self.log is not None:
            self.log.info(f"{self._describe()}, done in {event.seconds:.2f} s")


def stage_progress(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    stage: str,
    *,
    unit: str = "records",
    total: int | None = None,
) -> StageProgress:
    """A stage of the partition a Dagster op or asset is running, logging to its run log."""
    return StageProgress(context.log, context.partition_key, stage, unit=unit, total=total)
