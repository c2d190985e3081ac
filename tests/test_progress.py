"""Progress events: what a stage reports, when it reaches the run log, and the terminal bar."""

from __future__ import annotations

import io
import threading
import time

from koito_assets.commands.progress_bar import FileProgressBar
from koito_assets.progress import ProgressEvent, StageProgress, listening


class LogLines:
    """Collects what a stage writes to the run log."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)


def test_a_stage_reports_to_listeners_every_time_and_to_the_log_at_an_interval():
    events: list[ProgressEvent] = []
    log = LogLines()
    with listening(events.append):
        stage = StageProgress(log, "f.json", "reading", unit="records", log_every_s=0.2)
        stage(10)
        stage(20)  # within the interval: the listener hears it, the log does not
        time.sleep(0.25)
        stage(30)
        stage.finish(35)
    stage_after = StageProgress(log, "f.json", "resolving", unit="keys")  # nobody listening now
    stage_after.finish(3)

    assert [(e.stage, e.done, e.finished) for e in events] == [
        ("reading", 0, False),
        ("reading", 10, False),
        ("reading", 20, False),
        ("reading", 30, False),
        ("reading", 35, True),
    ]
    assert log.lines[0].startswith("f.json: reading, 30 records (")
    assert log.lines[1].startswith("f.json: reading, 35 records, done in ")
    assert log.lines[2].startswith("f.json: resolving, 3 keys, done in ")
    assert len(log.lines) == 3


def test_a_stage_takes_done_and_planned_from_any_thread():
    """The shape a MusicBrainz client reports in: (requests done, requests planned)."""
    events: list[ProgressEvent] = []
    log = LogLines()
    with listening(events.append):
        stage = StageProgress(log, "f.json", "asking MusicBrainz", unit="requests", log_every_s=0)
        workers = [threading.Thread(target=stage, args=(n, 40)) for n in range(1, 5)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        stage.finish()
    assert sorted(e.done for e in events[1:-1]) == [1, 2, 3, 4]
    assert all(e.total == 40 for e in events[1:])
    assert log.lines[-1].startswith("f.json: asking MusicBrainz, ")
    assert " of 40 requests, done in " in log.lines[-1]


def test_a_broken_listener_does_not_stop_the_stage():
    def broken(event: ProgressEvent) -> None:
        raise OSError("terminal gone")

    with listening(broken):
        stage = StageProgress(None, "f.json", "reading")
        stage(5)
        stage.finish(5)
    assert stage.done == 5


def test_the_terminal_bar_follows_the_stages_to_done():
    screen = io.StringIO()
    bar = FileProgressBar("f.json", screen, file_key="f.json")
    for event in (
        ProgressEvent("f.json", "reading", 0, None, "records"),
        ProgressEvent("f.json", "reading", 50_000, None, "records"),
        ProgressEvent("f.json", "reading", 61_234, None, "records", finished=True),
        ProgressEvent("other.json", "reading", 99, None, "records"),  # another file: ignored
        ProgressEvent("f.json", "resolving", 0, 1_500, "keys"),
        ProgressEvent("f.json", "resolving", 1_500, 1_500, "keys", finished=True),
        ProgressEvent("f.json", "inserting listens", 61_000, None, "listens", finished=True),
    ):
        bar(event)
    bar.done()
    text = screen.getvalue()
    stages = ["f.json: reading", "f.json: resolving", "f.json: inserting listens", "f.json: done"]
    positions = [text.rfind(stage) for stage in stages]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), text
    assert "f.json: reading: 61234 records" in text
    assert "f.json: resolving: 100%" in text and "1500/1500" in text
    assert "other.json" not in text and " 99 records" not in text
