"""``make screenshots``: the pictures of the Dagster UI the README shows, taken from a real run.

Starts ``make run``'s launcher (``python -m koito_assets.serve``) with a temporary
KOITO_CONFIG_DIR and a free port, drops the test exports and a generated four-year history
(with two months taken out, as an incomplete download would be) into its import folder, waits
until the sensor's runs have imported them all, then photographs the asset graph, one file's
listening report and the library's plots with headless Chromium, and stops everything.

The browser is the system's Chromium (Debian: ``apt-get install chromium``), driven by
Playwright's Python package; nothing is downloaded. MusicBrainz and the image providers are
turned off, so the run needs no network.

    .venv/bin/python docs/screenshots.py [--out docs/images] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the workload generator lives in benchmarks/
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIXTURES = ROOT / "tests" / "sources" / "fixtures"
TEST_EXPORTS = [
    "maloja_export_2024_03_02_18_00_00.json",
    "Streaming_History_Audio_2023-2024_0.json",
    "recenttracks-example-1709402230.json",
    "example_lb-2024-03-02.json",
    "lastfmstats-example.json",
    "koito_export_2025-06-18.json",
]
HISTORY = "maloja_export_2025_06_01_12_00_00.json"
MISSING_MONTHS = ("2023-02", "2023-03")  # taken out of the generated history

RUNS = """
query { runsOrError { ... on Runs { results { runId status jobName tags { key value } } } } }
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"make run's launcher exited while waiting for {what}")
        if predicate():
            return
        time.sleep(2)
    raise SystemExit(f"timed out waiting for {what}")


def write_history(folder: Path) -> Path:
    """The benchmark's seed history (49,050 Maloja scrobbles over four years), minus two months."""
    from benchmarks.workload import generate

    generated = generate("maloja", "seed", folder / "generated", seed=1)
    data = json.loads(generated.read_text(encoding="utf-8"))
    data["scrobbles"] = [
        s
        for s in data["scrobbles"]
        if datetime.fromtimestamp(s["time"], UTC).strftime("%Y-%m") not in MISSING_MONTHS
    ]
    path = folder / HISTORY
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def import_everything(port: int, config: Path, work: Path, proc: subprocess.Popen) -> None:
    exports = [FIXTURES / name for name in TEST_EXPORTS] + [write_history(work)]
    for export in exports:
        shutil.copy(export, config / "import" / export.name)

    def all_done() -> bool:
        runs = graphql(port, RUNS)["runsOrError"]["results"]
        partitions = {
            tag["value"]: run["status"]
            for run in runs
            for tag in run["tags"]
            if tag["key"] == "dagster/partition"
        }
        finished = {"SUCCESS", "FAILURE", "CANCELED"}
        return all(partitions.get(export.name) in finished for export in exports)

    wait_for(all_done, 600, "the imports", proc)


def dismiss_popups(page) -> None:
    """Dagster's first-visit community dialog covers the page; skip it."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()
        page.wait_for_timeout(500)


def boxes_of(page, text: str, *, right_of: float = 0.0) -> list[dict]:
    """The boxes of the elements showing exactly ``text``, past ``right_of``."""
    boxes = [b for b in (e.bounding_box() for e in page.get_by_text(text, exact=True).all()) if b]
    return [b for b in boxes if b["x"] > right_of]


def box_of(page, text: str, *, right_of: float = 0.0) -> dict:
    """The box of the element showing exactly ``text`` (the rightmost one past ``right_of``)."""
    return max(boxes_of(page, text, right_of=right_of), key=lambda b: b["x"])


GROUPS = ("koito_import", "koito_export", "koito_sqlite", "koito_images", "koito_reports")
ASSETS = ("raw_scrobbles", "listening_report", "koito_library", "images_backfilled")


def shoot_asset_graph(page, base: str, path: Path) -> None:
    """The global lineage with every group expanded (Alt+E), cut to the groups' frames."""
    page.set_viewport_size({"width": 1800, "height": 1300})
    page.goto(f"{base}/asset-groups", wait_until="networkidle")
    page.wait_for_timeout(3000)
    dismiss_popups(page)
    page.mouse.click(1200, 1200)  # focus the graph for its keyboard shortcut
    page.keyboard.press("Alt+e")
    page.wait_for_timeout(1000)
    page.get_by_text("Hide navigation").click()
    page.reload(wait_until="networkidle")  # lays the expanded groups out to fit
    page.wait_for_timeout(4000)
    # a group's title is the topmost text of its name (an asset may share it: koito_export)
    titles = [min(boxes_of(page, name, right_of=300), key=lambda b: b["y"]) for name in GROUPS]
    nodes = [box_of(page, name, right_of=300) for name in ASSETS]
    # the zoom buttons sit at the canvas's right edge, just past the last group's frame
    rightmost = max(nodes, key=lambda box: box["x"])
    zoom = min(
        box["x"]
        for box in (button.bounding_box() for button in page.locator("button").all())
        if box and box["x"] > rightmost["x"] + rightmost["width"]
    )
    left = min(box["x"] for box in titles + nodes) - 90
    top = min(box["y"] for box in titles) - 30
    bottom = max(box["y"] + box["height"] for box in nodes) + 70  # a frame ends ~60 px below
    clip = {"x": left, "y": top, "width": zoom - 8 - left, "height": bottom - top}
    page.screenshot(path=str(path), clip=clip)


def shoot_report(page, base: str, table: Path, chart: Path) -> None:
    """One file's report: the partition's metadata, then its chart as the UI opens it."""
    page.set_viewport_size({"width": 1440, "height": 1150})
    page.goto(
        f"{base}/assets/listening_report?view=partitions&partition={HISTORY}",
        wait_until="networkidle",
    )
    page.wait_for_timeout(4000)
    dismiss_popups(page)
    page.screenshot(path=str(table))
    page.get_by_text("[Show Markdown]").first.click()
    page.wait_for_timeout(2000)
    page.locator("[role=dialog]").first.screenshot(path=str(chart))


def shoot_library(page, base: str, path: Path) -> None:
    """koito_library's metadata as plots: one point per import and image run."""
    page.set_viewport_size({"width": 1440, "height": 2200})
    page.goto(f"{base}/assets/koito_library", wait_until="networkidle")
    page.wait_for_timeout(3000)
    dismiss_popups(page)
    page.get_by_role("button", name="Plots").first.click()
    page.wait_for_timeout(3000)
    metadata = box_of(page, "Metadata")
    page.screenshot(
        path=str(path),
        # the heading's text starts after its icon: the section begins about 34 px to the left
        clip={"x": metadata["x"] - 34, "y": metadata["y"] - 20, "width": 800, "height": 1410},
    )


def take_pictures(port: int, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    pictures = {
        name: out / f"{name}.png"
        for name in ("asset-graph", "listening-report", "listening-report-chart", "library-plots")
    }
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        page = browser.new_page()
        shoot_report(page, base, pictures["listening-report"], pictures["listening-report-chart"])
        shoot_library(page, base, pictures["library-plots"])
        shoot_asset_graph(page, base, pictures["asset-graph"])
        browser.close()
    return list(pictures.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--keep", action="store_true", help="leave the temporary folder")
    parser.add_argument(
        "--port", type=int, help="photograph a UI already running on this port (imports nothing)"
    )
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    if args.port:
        for path in take_pictures(args.port, args.out):
            print(path)
        return 0
    work = Path(tempfile.mkdtemp(prefix="koito-screenshots-"))
    config, port = work / "koito", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOITO_", "DAGSTER_"))}
    env.update(
        {
            "KOITO_CONFIG_DIR": str(config),
            "KOITO_DAGSTER_PORT": str(port),
            "KOITO_DISABLE_MUSICBRAINZ": "true",
            "KOITO_DISABLE_DEEZER": "true",
            "KOITO_DISABLE_COVER_ART_ARCHIVE": "true",
        }
    )
    log = (work / "run.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "koito_assets.serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    return True
            except OSError:
                return False

        wait_for(ready, 120, "the Dagster UI", proc)
        import_everything(port, config, work, proc)
        for path in take_pictures(port, args.out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        finally:
            log.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
