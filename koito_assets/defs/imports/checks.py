"""The checks that prove a file's import consistent, evaluated by listens_loaded's last step.

They run inside the load (in ``finish_file``) because they compare the file's staging rows with
its listens, and the staging rows are dropped once the file is complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg

LISTENS_LOADED = "listens_loaded"

LISTENS_CHECKS = [
    dg.AssetCheckSpec(
        "counts_balance",
        asset=LISTENS_LOADED,
        description="records = accepted + skipped; accepted = inserted + duplicates",
    ),
    dg.AssetCheckSpec(
        "every_key_resolved",
        asset=LISTENS_LOADED,
        description="every lookup key of the file has a cache row",
    ),
    dg.AssetCheckSpec(
        "every_listen_present",
        asset=LISTENS_LOADED,
        description="every accepted record has a listen of its track at its second",
    ),
]


@dataclass(frozen=True)
class LoadFacts:
    """What the load counted and found: the ledger's counts and the staging comparison."""

    records: int
    accepted: int
    skipped: int
    staged: int
    inserted: int
    unresolved_keys: int
    records_without_listen: int

    @property
    def duplicates(self) -> int:
        return self.staged - self.inserted

    @property
    def balanced(self) -> bool:
        return self.records == self.accepted + self.skipped and self.accepted == self.staged

    @property
    def complete(self) -> bool:
        return self.balanced and self.unresolved_keys == 0 and self.records_without_listen == 0


def listens_check_results(facts: LoadFacts) -> Iterator[dg.AssetCheckResult]:
    """One result per spec of LISTENS_CHECKS."""
    yield dg.AssetCheckResult(
        asset_key=LISTENS_LOADED,
        check_name="counts_balance",
        passed=facts.balanced,
        metadata={
            "records": facts.records,
            "accepted": facts.accepted,
            "skipped": facts.skipped,
            "staged": facts.staged,
            "inserted": facts.inserted,
            "duplicates": facts.duplicates,
        },
    )
    yield dg.AssetCheckResult(
        asset_key=LISTENS_LOADED,
        check_name="every_key_resolved",
        passed=facts.unresolved_keys == 0,
        metadata={"unresolved_keys": facts.unresolved_keys},
    )
    yield dg.AssetCheckResult(
        asset_key=LISTENS_LOADED,
        check_name="every_listen_present",
        passed=facts.records_without_listen == 0,
        metadata={"records_without_listen": facts.records_without_listen},
    )
