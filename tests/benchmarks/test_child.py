"""A benchmark's child process reports its own peak memory, not its parent's."""

from __future__ import annotations

from benchmarks.child import peak_rss_mb, run_child


def test_a_child_reports_its_own_peak_not_its_parents():
    ballast = b"x" * (300 << 20)  # resident in this process before the child starts
    assert peak_rss_mb() > 300
    child = run_child(
        "import json; from benchmarks.child import peak_rss_mb; "
        "print(json.dumps({'peak_rss_mb': peak_rss_mb()}))"
    )
    assert 0 < child["peak_rss_mb"] < 200  # an interpreter alone; ru_maxrss would say > 300
    assert child["process_wall_seconds"] > 0
    del ballast
