"""The hostile-input corpus against ``koito-import parse`` and ``koito-import import``, as a user
runs them: separate processes with a time limit and an address-space cap, their exit code, their
one line, their peak memory, and what the database holds afterwards.

Everything runs at once in one fixture (parse of every case two at a time, one import of all
the importable cases, one import of the big-records case alone, so its peak memory is its own),
so the corpus costs well under a minute of wall time.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from koito_assets.sources.fields import MAX_NAME_BYTES, MAX_TEXT_CHARS
from tests.hostile.corpus import BIG_RECORDS, CASES, Case

GIGABYTE = 1 << 30
ADDRESS_SPACE_CAP = 6 * GIGABYTE  # a runaway case must not take the machine with it
PARSE_SECONDS = 30
IMPORT_SECONDS = 150
IMPORTED = [case for case in CASES if case.import_exit is not None]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    peak_bytes: int  # the process's own peak resident set


def run_limited(args: list[str], env: dict[str, str], timeout: float) -> Outcome:
    """``koito-import ARGS`` in a process of its own, capped and timed; its peak memory from
    the kernel's accounting of that one process."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KOITO_")}
    full_env.update(env)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "koito_assets.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        preexec_fn=limits,
        start_new_session=True,
    )
    streams: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=name, s=stream: streams.__setitem__(n, s.read()))
        for name, stream in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > timeout:
            os.killpg(process.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Outcome(
        process.returncode,
        streams["out"].decode(errors="replace"),
        streams["err"].decode(errors="replace"),
        time.monotonic() - started,
        usage.ru_maxrss * 1024,
    )


@dataclass
class CorpusRun:
    folder: Path
    paths: dict[str, Path]
    parsed: dict[str, Outcome]
    imported: list[Outcome]  # the importable cases, in three processes
    big: Outcome
    big_parsed: Outcome
    db_url: str
    seconds: float


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, pg_server, template_db) -> CorpusRun:
    folder = tmp_path_factory.mktemp("hostile")
    inputs = folder / "inputs"
    inputs.mkdir()
    started = time.monotonic()
    paths = {case.name: case.write(inputs) for case in CASES}
    big_folder = folder / "big"
    big_folder.mkdir()
    paths[BIG_RECORDS.name] = BIG_RECORDS.write(big_folder)
    name = f"hostile_corpus_{os.getpid()}"
    db_url = pg_server.create_database(name, template=template_db)

    def env(config: str) -> dict[str, str]:
        return {"KOITO_DATABASE_URL": db_url, "KOITO_CONFIG_DIR": str(folder / config)}

    try:
        with ThreadPoolExecutor(4) as pool:
            # The importable cases in three processes at once: a run costs a few seconds of
            # Dagster bookkeeping, mostly waiting on the database.
            batches = [
                pool.submit(
                    run_limited,
                    ["import", "--json", *(str(paths[case.name]) for case in IMPORTED[n::3])],
                    env(f"koito_{n}"),
                    IMPORT_SECONDS,
                )
                for n in range(3)
            ]
            big = pool.submit(
                run_limited,
                ["import", "--json", str(paths[BIG_RECORDS.name])],
                env("koito_big"),
                IMPORT_SECONDS,
            )
            with ThreadPoolExecutor(2) as parsers:  # two at a time beside the imports
                parsed = {
                    case.name: parsers.submit(
                        run_limited, ["parse", str(paths[case.name])], {}, PARSE_SECONDS
                    )
                    for case in [*CASES, BIG_RECORDS]
                }
                parsed = {name: future.result() for name, future in parsed.items()}
            run = CorpusRun(
                folder,
                paths,
                parsed,
                [batch.result() for batch in batches],
                big.result(),
                parsed.pop(BIG_RECORDS.name),
                db_url,
                time.monotonic() - started,
            )
        print(
            f"\nhostile corpus: {run.seconds:.1f} s wall for {len(CASES) + 1} cases; imports "
            + ", ".join(f"{o.seconds:.1f} s" for o in [*run.imported, run.big])
            + f"; parse {sum(o.seconds for o in run.parsed.values()):.1f} s in all"
        )
        yield run
    finally:
        pg_server.drop_database(name)


# --- parse ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_parse_answers_in_one_line_quickly_and_small(corpus, case: Case):
    outcome = corpus.parsed[case.name]
    assert outcome.code == case.parse_exit, outcome.err
    assert "Traceback" not in outcome.err
    if case.parse_exit == 2:
        assert outcome.out == ""
        assert outcome.err.count("\n") == 1 and outcome.err.startswith("koito-import: ")
        assert case.parse_says in outcome.err
    else:
        assert case.parse_says in outcome.out
    assert outcome.seconds < PARSE_SECONDS
    assert outcome.peak_bytes < GIGABYTE


def test_parse_names_the_real_reason_for_the_time_and_nesting_cases(corpus):
    report = corpus.parsed["lastfmstats in seconds"].out
    assert "time_out_of_range              3" in report
    deep = corpus.parsed["deep nesting in an ignored key"].err
    assert (
        deep == "koito-import: maloja_export_deep.json: byte 6: JSON nested more than 200 "
        "levels deep\n"
    )


# --- import --------------------------------------------------------------------------------------


def _summaries(corpus) -> dict[str, dict]:
    files = [entry for o in corpus.imported for entry in json.loads(o.out)["files"]]
    by_path = {entry["path"]: entry for entry in files}
    return {case.name: by_path[str(corpus.paths[case.name])] for case in IMPORTED}


def test_the_import_says_each_files_answer_and_fails_only_the_bad_ones(corpus):
    for n, outcome in enumerate(corpus.imported):
        batch = IMPORTED[n::3]
        failed = [case for case in batch if case.import_exit == 2]
        assert outcome.code == (2 if failed else 0), outcome.err
        assert "Traceback" not in outcome.err and "Stack Trace" not in outcome.err
        # one line on stderr per failed file, and nothing else
        assert len(outcome.err.splitlines()) == len(failed), outcome.err
        assert outcome.seconds < IMPORT_SECONDS
        assert outcome.peak_bytes < GIGABYTE
    errors = "".join(outcome.err for outcome in corpus.imported)
    summaries = _summaries(corpus)
    for case in IMPORTED:
        summary = summaries[case.name]
        if case.import_exit == 2:
            assert case.import_says in (summary["error"] or ""), (case.name, summary)
            assert summary["listens_inserted"] == 0
            line = next(x for x in errors.splitlines() if case.import_says in x)
            assert line.startswith("koito-import: ")
        else:
            assert summary["error"] is None, (case.name, summary)
            assert summary["listens_inserted"] == case.listens, (case.name, summary)
            for reason, count in case.skipped.items():
                assert summary["skipped"].get(reason) == count, (case.name, summary)


def test_no_bad_file_costs_another_files_listens(corpus):
    expected = sum(case.listens for case in IMPORTED) + BIG_RECORDS.listens
    with psycopg.connect(corpus.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == expected
        titles = {
            row[0]
            for row in conn.execute(
                "SELECT a.alias FROM listens l JOIN track_aliases a "
                "ON a.track_id = l.track_id AND a.is_primary"
            )
        }
    assert {f"Good {n}" for n in range(6)} <= titles
    assert {"Short Song", "On Time", "Spaced", "Dotted", "First copy", "Second copy"} <= titles


def test_the_database_holds_nothing_it_cannot_index_and_no_leftovers(corpus):
    with psycopg.connect(corpus.db_url) as conn:
        longest = conn.execute(
            "SELECT max(octet_length(alias)) FROM ("
            "SELECT alias FROM artist_aliases UNION ALL SELECT alias FROM release_aliases "
            "UNION ALL SELECT alias FROM track_aliases) names"
        ).fetchone()[0]
        assert longest <= MAX_NAME_BYTES
        assert conn.execute("SELECT count(*) FROM koito_import.staged_scrobbles").fetchone() == (0,)
        rows = dict(conn.execute("SELECT name, status FROM koito_import.import_files").fetchall())
        for case in IMPORTED:
            name = corpus.paths[case.name].name
            if case.import_exit == 0:
                assert rows[name] == "complete", case.name
            else:  # refused before a run (not an export, not a file), or failed in one
                assert rows.get(name, "failed") == "failed", case.name
        assert rows[corpus.paths[BIG_RECORDS.name].name] == "complete"
        client = conn.execute(
            "SELECT max(length(client)) FROM listens WHERE client LIKE 'a%' OR client ~ '^[A-Za-z]'"
        ).fetchone()[0]
        assert client <= MAX_TEXT_CHARS


def test_a_file_of_huge_records_imports_under_a_gigabyte(corpus):
    outcome = corpus.big
    assert outcome.code == 0, outcome.err
    summary = json.loads(outcome.out)["files"][0]
    assert (summary["records"], summary["listens_inserted"]) == (8, 8)
    print(
        f"\n8 listens with a 60 MB media_player: import peak {outcome.peak_bytes / 2**20:.0f} MiB "
        f"in {outcome.seconds:.1f} s; parse peak {corpus.big_parsed.peak_bytes / 2**20:.0f} MiB"
    )
    assert outcome.peak_bytes < GIGABYTE
    assert corpus.big_parsed.code == 0 and corpus.big_parsed.peak_bytes < GIGABYTE
    with psycopg.connect(corpus.db_url) as conn:
        lengths = conn.execute(
            "SELECT DISTINCT length(client) FROM listens WHERE client LIKE '%aaaaaaaaaa%'"
        ).fetchall()
    assert lengths == [(MAX_TEXT_CHARS,)]


def test_the_corpus_takes_well_under_a_minute(corpus):
    assert corpus.seconds < 60, f"{corpus.seconds:.1f} s"
