"""The terminal's view of one file's import: a bar that follows the stage the import is in.

It listens to the progress events the import's steps publish (``koito_assets.progress``):
records read while the file is read, then each stage by name with its own counts (keys,
MusicBrainz requests, listens), then done.
"""

from __future__ import annotations

import threading
from typing import TextIO

from tqdm import tqdm

from koito_assets.progress import ProgressEvent


class FileProgressBar:
    """A tqdm bar for one file; call it with progress events, then :meth:`done`.

    ``file_key``, when given, keeps events of other partitions out (the command imports one file
    at a time, and learns the file's partition only once the import has claimed it).
    """

    def __init__(self, label: str, stream: TextIO, file_key: str | None = None) -> None:
        self.file_key = file_key
        self.label = label
        self._lock = threading.Lock()
        self._stage: str | None = None
        self._bar = tqdm(
            total=None,
            desc=f"{label}: starting",
            unit=" records",
            file=stream,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
        )

    def __call__(self, event: ProgressEvent) -> None:
        if self.file_key is not None and event.file_key != self.file_key:
            return
        with self._lock:
            bar = self._bar
            if event.stage != self._stage:
                self._stage = event.stage
                bar.unit = f" {event.unit}"
                bar.set_description_str(f"{self.label}: {event.stage}", refresh=False)
                bar.reset(total=event.total)
            elif event.total is not None and event.total != bar.total:
                bar.total = event.total
            if event.finished or event.done < bar.n:
                bar.n = event.done
                bar.refresh()
            else:
                bar.update(event.done - bar.n)

    def write(self, line: str, stream: TextIO) -> None:
        """A line above the bar (the file's summary), without tearing it."""
        self._bar.write(line, file=stream)

    def done(self) -> None:
        with self._lock:
            self._bar.set_description_str(f"{self.label}: done", refresh=True)
            self._bar.close()
