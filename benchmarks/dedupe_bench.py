"""What recognising one play from two services costs: the load stage with and without it.

Part of ``make bench`` (benchmarks/run.py), measured in the same run as everything else:

* the seed workload (one Maloja file into an empty database, so no other source is near and the
  matching reduces to one range probe), imported with KOITO_CROSS_SOURCE_DEDUPE on and off,
  alternately, into fresh databases; the listens_loaded stage of each, and their ratio;
* an overlapping pair of seed size (benchmarks/overlap.py: Spotify's extended history and the
  Last.fm scrobbles of the same history, overlapping by half), imported both ways round with the
  matching on and once with it off: listens against the true plays, and the load stage of the
  second file, where the matching does its work.

The 1,000,000-scrobble import is run on and off by run.py itself, in child processes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg

SEED_REPEATS = 3  # alternating on and off into fresh databases; the best of each is compared


def _import(path: Path, url: str, config_dir: Path, dedupe: str) -> dict:
    from benchmarks.run import import_in_process

    return import_in_process(path, url, config_dir, dedupe=dedupe)


def _fresh(admin: str, name: str, settings) -> str:
    from benchmarks.run import _fresh_database
    from koito_assets.db.bootstrap import prepare_database

    url = _fresh_database(admin, name)
    prepare_database(url, settings)
    return url


def seed_on_and_off(seed_file: Path, admin: str, settings, work: Path) -> dict:
    """The seed import's load stage with the matching on and off, alternately, best of each."""
    stages: dict[str, list[float]] = {"on": [], "off": []}
    inserts: dict[str, list[float]] = {"on": [], "off": []}
    for repeat in range(SEED_REPEATS):
        for mode in ("off", "on") if repeat % 2 else ("on", "off"):
            url = _fresh(admin, f"koito_bench_dedupe_{mode}", settings)
            done = _import(seed_file, url, work / f"koito-{mode}-{repeat}", mode)
            stages[mode].append(done["stages"]["listens_loaded"])
            inserts[mode].append(done["insert_seconds"])
    on, off = min(stages["on"]), min(stages["off"])
    return {
        "listens_loaded_on": stages["on"],
        "listens_loaded_off": stages["off"],
        "insert_on": inserts["on"],
        "insert_off": inserts["off"],
        "ratio_on_over_off": round(on / off, 3) if off else 0.0,
    }


def _listens(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM listens").fetchone()[0]


def overlapping_pair(admin: str, settings, work: Path, plays: int, kind: str) -> dict:
    """Import both files of a pair, each way round with the matching on, and A then B off."""
    from benchmarks.overlap import overlapping_pair as make_pair
    from benchmarks.overlap import write_pair

    pair = make_pair(kind, plays, seed=1)
    a, b = write_pair(pair, work / f"pair-{kind.replace('+', '-')}")
    out: dict[str, object] = {"kind": kind, **pair.counts()}
    for label, mode, files in (
        ("on_a_then_b", "on", (a, b)),
        ("on_b_then_a", "on", (b, a)),
        ("off_a_then_b", "off", (a, b)),
    ):
        url = _fresh(admin, f"koito_bench_pair_{label}", settings)
        first = _import(files[0], url, work / f"koito-{label}", mode)
        second = _import(files[1], url, work / f"koito-{label}", mode)
        out[label] = {
            "listens": _listens(url),
            "first_listens_loaded_s": first["stages"]["listens_loaded"],
            "second_listens_loaded_s": second["stages"]["listens_loaded"],
            "second_insert_s": second["insert_seconds"],
            "second_records": second["records"],
            "second_listens_inserted": second["listens_inserted"],
        }
    return out


def lines(r: dict, row: Callable[..., str]) -> list[str]:
    """The report's rows about the matching, formatted with run.py's ``row``."""
    out = []
    seed = r.get("dedupe_seed")
    if seed:
        ratio = seed["ratio_on_over_off"]
        out.append(
            row("seed listens_loaded, matching on (s, best)", min(seed["listens_loaded_on"]))
        )
        out.append(
            row("seed listens_loaded, matching off (s, best)", min(seed["listens_loaded_off"]))
        )
        out.append(row("  on over off", ratio, "<= 1.2", ratio <= 1.2))
    for pair in r.get("dedupe_pairs", []):
        true = pair["true_plays"]
        out.append(
            row(
                f"pair {pair['kind']}, {true:,} true plays: listens a→b",
                pair["on_a_then_b"]["listens"],
                f"= {true}",
                pair["on_a_then_b"]["listens"] == true,
            )
        )
        out.append(
            row(
                "  listens b→a",
                pair["on_b_then_a"]["listens"],
                f"= {true}",
                pair["on_b_then_a"]["listens"] == true,
            )
        )
        out.append(row("  listens a→b with the matching off", pair["off_a_then_b"]["listens"]))
        on, off = pair["on_a_then_b"], pair["off_a_then_b"]
        out.append(
            row(
                f"  second file ({on['second_records']:,} records) listens_loaded on (s)",
                on["second_listens_loaded_s"],
            )
        )
        out.append(row("  the same with the matching off (s)", off["second_listens_loaded_s"]))
    large_on, large_off = r.get("large"), r.get("large_dedupe_off")
    if large_on and large_off:
        on_s, off_s = large_on["stages"]["listens_loaded"], large_off["stages"]["listens_loaded"]
        out.append(row("large listens_loaded, matching on (s)", on_s))
        out.append(row("large listens_loaded, matching off (s)", off_s))
        out.append(row("  on over off", round(on_s / off_s, 3) if off_s else 0.0))
        out.append(
            row(
                "large with the matching off (s)",
                large_off["seconds"],
                "< 40 s",
                large_off["seconds"] < 40,
            )
        )
    return out
