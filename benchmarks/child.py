"""Measurements in a fresh interpreter: its own wall time and its own peak memory.

A child measures itself: Linux keeps ``ru_maxrss`` across fork and exec, so a child of a big
benchmark process would report the parent's peak (and ``RUSAGE_CHILDREN`` is the largest child
so far). ``VmHWM`` in /proc belongs to the process image alone.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (VmHWM; ru_maxrss where /proc has none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(code: str, *args: str) -> dict:
    """``python -c code args…`` from the repository root; the JSON object its last line prints,
    with ``process_wall_seconds`` (interpreter start-up included)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_seconds"] = round(time.perf_counter() - started, 3)
    return result
