"""``images_backfilled``: artists and releases without an image get one from the provider chain.

Unpartitioned and downstream of ``listens_loaded`` (it covers every imported file), on its own
job and schedule: an import never waits on an image provider.
"""

import dagster as dg

from koito_assets.db.resource import DB_POOL, KoitoDatabase
from koito_assets.enrich.images.backfill import BackfillReport, backfill_images
from koito_assets.enrich.images.cache import image_cache_from_settings
from koito_assets.enrich.images.chain import image_finder_from_settings
from koito_assets.settings import Settings
from koito_assets.settings_resource import SettingsResource


class ImagesConfig(dg.Config):
    # also write the files into image_cache/ (KOITO_FETCH_IMAGES_DURING_IMPORT does too)
    download: bool = False
    limit: int = 100_000  # at most this many entities per run
    workers: int = 8  # lookups in flight; each provider still keeps its own rate limit


def run_backfill(
    db_conn, settings: Settings, *, download: bool, limit: int, workers: int = 8
) -> BackfillReport:
    """One backfill over the due entities, with the chain and cache Koito's variables configure."""
    finder = image_finder_from_settings(settings, max_concurrency=workers)
    cache = (
        image_cache_from_settings(settings)
        if download or settings.fetch_images_during_import
        else None
    )
    return backfill_images(db_conn, settings, finder, cache=cache, limit=limit, workers=workers)


def _provider_table(report: BackfillReport) -> dg.MetadataValue:
    lines = ["| provider | found | miss | failed | skipped |", "|---|---|---|---|---|"]
    for provider, counts in sorted(report.by_provider.items()):
        lines.append(
            f"| {provider} | {counts.get('found', 0)} | {counts.get('miss', 0)} | "
            f"{counts.get('failed', 0)} | {counts.get('skipped', 0)} |"
        )
    return dg.MetadataValue.md("\n".join(lines))


@dg.asset(
    group_name="koito_images",
    kinds={"postgres"},
    pool=DB_POOL,
    deps=[dg.AssetKey("listens_loaded")],
    description="Find images for artists and releases that have none and are due for a try.",
)
def images_backfilled(
    context: dg.AssetExecutionContext,
    config: ImagesConfig,
    db: KoitoDatabase,
    settings: SettingsResource,
) -> dg.MaterializeResult:
    with db.connection() as conn:
        report = run_backfill(
            conn,
            settings.value,
            download=config.download,
            limit=config.limit,
            workers=config.workers,
        )
    context.log.info(
        f"images: {report.checked} checked, {report.found} found, {report.missed} missed, "
        f"{report.failed} failed in {report.seconds:.1f} s"
    )
    return dg.MaterializeResult(
        metadata={
            "checked": report.checked,
            "found": report.found,
            "missed": report.missed,
            "failed": report.failed,
            "by_provider": _provider_table(report),
            "seconds": round(report.seconds, 3),
        }
    )
