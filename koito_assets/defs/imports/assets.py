"""The import asset graph, one partition per export file.

    raw_scrobbles → unique_entity_keys → resolved_lookup → listens_loaded

Each asset is backed by a small graph of the ops in ``ops.py``, so a run's timeline shows every
step with its own duration and logs. Stages depend on each other in order only: nothing flows
between assets (each reads and writes PostgreSQL), so their inputs are ``Nothing``.
"""

import dagster as dg

from koito_assets.defs.imports import checks
from koito_assets.defs.imports.ops import (
    create_entities,
    finish_file,
    insert_listens,
    locate_file,
    look_up_cache,
    stage_records,
)
from koito_assets.defs.imports.partitions import export_files

GROUP = "koito_import"


def _after(asset: str) -> dict[str, dg.AssetIn]:
    """An ordering-only dependency on an upstream asset: its value is never loaded."""
    return {asset: dg.AssetIn(asset, dagster_type=dg.Nothing)}


@dg.graph_asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"postgres"},
    description="Detect the format, stream-parse the file and COPY its records into staging.",
)
def raw_scrobbles():
    return stage_records(locate_file())


@dg.graph_asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"postgres"},
    ins=_after("raw_scrobbles"),
    description="The file's distinct lookup keys, one representative record each, hit or miss.",
)
def unique_entity_keys(raw_scrobbles):
    return look_up_cache(raw_scrobbles)


@dg.graph_asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"postgres"},
    ins=_after("unique_entity_keys"),
    description="Resolve cache misses to Koito artists, albums and tracks, and cache them.",
)
def resolved_lookup(unique_entity_keys):
    return create_entities(unique_entity_keys)


@dg.graph_asset(
    partitions_def=export_files,
    group_name=GROUP,
    kinds={"postgres"},
    ins=_after("resolved_lookup"),
    check_specs=checks.LISTENS_CHECKS,
    description="Insert the file's listens in one statement, fill unknown durations, check "
    "the counts, finish the file.",
)
def listens_loaded(resolved_lookup):
    result, *check_outputs = finish_file(insert_listens(resolved_lookup))
    names = [f"{checks.LISTENS_LOADED}_{spec.name}" for spec in checks.LISTENS_CHECKS]
    return {"result": result, **dict(zip(names, check_outputs, strict=True))}


IMPORT_ASSETS = [raw_scrobbles, unique_entity_keys, resolved_lookup, listens_loaded]
