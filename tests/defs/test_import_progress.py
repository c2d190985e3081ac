"""Progress inside one file's import: the stages in order, their counts, the run's log lines,
and the bar `koito-import import` draws on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import dagster as dg

from koito_assets.progress import ProgressEvent, listening
from koito_assets.settings_resource import SettingsResource
from tests.defs.exports import maloja_scrobble, write_maloja
from tests.defs.test_listening_report import run_import

RECORDS = 25_000  # past two of staging's progress reports (every 10,000 records)

STAGES = [
    "reading",
    "looking up keys",
    "resolving",
    "inserting listens",
    "checking",
    "writing the report",
]


def many_scrobbles(count: int) -> list[dict]:
    songs = [(["Band " + str(n % 7)], f"Song {n}") for n in range(40)]
    return [maloja_scrobble(1_600_000_000 + 60 * i, *songs[i % len(songs)]) for i in range(count)]


def test_every_stage_reports_in_order_and_the_run_log_has_the_counts(db_url, tmp_path):
    settings = SettingsResource(overrides={"KOITO_CONFIG_DIR": str(tmp_path / "koito")})
    path = write_maloja(tmp_path / "koito" / "import" / "maloja_big.json", many_scrobbles(RECORDS))
    events: list[ProgressEvent] = []
    with dg.DagsterInstance.ephemeral() as instance, listening(events.append):
        result = run_import(db_url, settings, path, instance)
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]

    assert {e.file_key for e in events} == {path.name}
    order = list(dict.fromkeys(e.stage for e in events))
    assert order == STAGES
    reading = [e.done for e in events if e.stage == "reading"]
    assert reading[0] == 0 and 10_000 in reading and 20_000 in reading and reading[-1] == RECORDS
    assert reading == sorted(reading)
    finished = {e.stage: e for e in events if e.finished}
    assert set(finished) == set(STAGES)
    assert (finished["looking up keys"].done, finished["resolving"].done) == (40, 40)
    assert finished["inserting listens"].done == RECORDS
    assert finished["writing the report"].unit == "months"

    done_lines = [line for line in logs if ", done in " in line]
    assert [line.split(": ", 1)[1].split(",")[0] for line in done_lines] == STAGES
    assert f"{path.name}: reading, {RECORDS:,} records, done in " in done_lines[0]
    assert f"{path.name}: inserting listens, {RECORDS:,} listens, done in " in done_lines[3]


def _read_terminal(fd: int, proc: subprocess.Popen) -> str:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks).decode(errors="replace")


def test_koito_import_draws_the_stages_on_a_terminal(db_url, tmp_path):
    path = write_maloja(tmp_path / "maloja_terminal.json", many_scrobbles(RECORDS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    env.update({"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(tmp_path / "koito")})
    main, secondary = pty.openpty()
    # a terminal 120 columns wide (a new pty has none, and a bar zero columns wide draws nothing)
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "koito_assets.cli", "import", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    os.close(secondary)
    try:
        screen = _read_terminal(main, proc)
        stdout = proc.communicate(timeout=180)[0].decode()
    finally:
        os.close(main)
    assert proc.returncode == 0, screen[-2000:]
    frames = screen.replace("\r", "\n")
    positions = [frames.find(f"{path.name}: {stage}") for stage in [*STAGES, "done"]]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), frames[-3000:]
    assert f"{path.name}: reading: {RECORDS} records" in frames
    assert f"{RECORDS} listens inserted" in stdout  # the summary, after the bar


def test_musicbrainz_requests_are_a_stage_of_their_own(db_url, tmp_path, fake_musicbrainz):
    """resolved_lookup's MusicBrainz questions reach the terminal as (requests done, planned)."""
    from tests.defs.test_musicbrainz_import import (
        ARTIST,
        RECORDINGS,
        import_file,
        settings_for,
        write_listenbrainz,
    )
    from tests.fakes.musicbrainz import MbAlias

    fake_musicbrainz.add_artist(ARTIST, "The Band", [MbAlias("ザ・バンド", "ja", True)])
    for i, mbid in enumerate(RECORDINGS):
        fake_musicbrainz.add_recording(mbid, f"Song {i}", 200_000)
    path = write_listenbrainz(tmp_path / "import" / "old_lb-2025-06-01.json")
    events: list[ProgressEvent] = []
    with listening(events.append):
        import_file(db_url, settings_for(tmp_path, fake_musicbrainz.url), path)
    asking = [e for e in events if e.stage == "asking MusicBrainz"]
    assert asking and asking[0].unit == "requests"
    assert [e.done for e in asking] == sorted(e.done for e in asking)
    assert asking[-1].done == asking[-1].total == sum(fake_musicbrainz.request_counts().values())
    order = list(dict.fromkeys(e.stage for e in events))
    assert order.index("resolving") < order.index("asking MusicBrainz")
    assert order.index("asking MusicBrainz") < order.index("inserting listens")
