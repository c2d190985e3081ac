"""One file's listening report: its facts, the ledger's counts and today's names, as metadata."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import psycopg

from koito_assets.db.sql_files import sql_text
from koito_assets.defs.imports import ledger
from koito_assets.defs.reports.chart import month_chart_svg, sparkline_markdown, svg_markdown_image
from koito_assets.defs.reports.facts import FileFacts, read_file_facts
from koito_assets.defs.reports.months import Month, empty_runs, every_month, months_between


class ReportUnavailable(RuntimeError):
    """The file has no recorded facts: its load never finished."""


@dataclass(frozen=True)
class TopTrack:
    title: str
    artists: str
    album: str
    listens: int


@dataclass(frozen=True)
class ListeningReport:
    file_key: str
    format: str | None
    records: int
    new_listens: int  # listens this file's last load inserted
    skipped: dict[str, int]  # reason -> records, as the ledger counts them
    facts: FileFacts
    span: list[tuple[Month, int]]  # every month from the first listen's to the last's
    top_artists: list[tuple[str, int]]
    top_tracks: list[TopTrack]

    @property
    def empty_months(self) -> list[tuple[Month, Month]]:
        return empty_runs(self.span)


def _top_artists(conn: psycopg.Connection, ranked: list[tuple[int, int]]) -> list[tuple[str, int]]:
    ids = [artist for artist, _ in ranked]
    names = dict(
        conn.execute("SELECT id, name FROM artists_with_name WHERE id = ANY(%s)", (ids,)).fetchall()
    )
    return [(names.get(artist, f"artist {artist} (gone)"), count) for artist, count in ranked]


def _top_tracks(conn: psycopg.Connection, ranked: list[tuple[int, int]]) -> list[TopTrack]:
    ids = [track for track, _ in ranked]
    rows = conn.execute(sql_text("reports", "track_names"), {"ids": ids}).fetchall()
    named = {track: (title, artists, album) for track, title, artists, album in rows}
    return [
        TopTrack(*named.get(track, (f"track {track} (gone)", "", "")), count)
        for track, count in ranked
    ]


def build_report(conn: psycopg.Connection, file_key: str) -> ListeningReport:
    """The report of ``file_key`` from its recorded facts and the ledger; names as they are now."""
    row = ledger.get_file(conn, file_key)
    facts = read_file_facts(conn, row["id"]) if row else None
    if row is None or facts is None:
        raise ReportUnavailable(
            f"{file_key}: no report facts recorded (its load has not finished); import it again"
        )
    return ListeningReport(
        file_key=file_key,
        format=row["format"],
        records=row["records"] or 0,
        new_listens=row["listens_inserted"] or 0,
        skipped=dict(row["skipped"] or {}),
        facts=facts,
        span=every_month(facts.months),
        top_artists=_top_artists(conn, facts.top_artists),
        top_tracks=_top_tracks(conn, facts.top_tracks),
    )


def _table(columns: list[tuple[str, str]], rows: list[dict]) -> dg.MetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns]),
    )


def _describe_runs(runs: list[tuple[Month, Month]]) -> str:
    if not runs:
        return "none: every month between the first and the last listen has listens"
    lines = []
    for first, last in runs:
        count = months_between(first, last)
        lines.append(f"- {first}" if first == last else f"- {first} to {last} ({count} months)")
    return "\n".join(lines)


def report_metadata(report: ListeningReport) -> dict[str, dg.MetadataValue]:
    """The report as Dagster metadata: a chart, counts, tables (small: a few kilobytes)."""
    facts = report.facts
    empty = report.empty_months
    if report.span:
        title = f"Listens per month: {report.file_key}"
        chart = svg_markdown_image(
            month_chart_svg(report.span, title[:90]), f"listens per month in {report.file_key}"
        )
    else:
        chart = f"No listens in {report.file_key}."
    metadata: dict[str, dg.MetadataValue] = {
        "at_a_glance": dg.MetadataValue.md(sparkline_markdown(report.span)),
        "listens_per_month_chart": dg.MetadataValue.md(chart),
        "listens": dg.MetadataValue.int(facts.listens),
        "new_listens": dg.MetadataValue.int(report.new_listens),
        "already_in_database": dg.MetadataValue.int(facts.already_present),
        "repeats_in_file": dg.MetadataValue.int(facts.repeats_in_file),
    }
    if facts.first_listened_at is not None and facts.last_listened_at is not None:
        metadata["first_listen"] = dg.MetadataValue.timestamp(facts.first_listened_at)
        metadata["last_listen"] = dg.MetadataValue.timestamp(facts.last_listened_at)
    metadata["months"] = dg.MetadataValue.int(len(report.span))
    metadata["months_without_listens"] = dg.MetadataValue.int(
        sum(1 for _, count in report.span if count == 0)
    )
    metadata["empty_months"] = dg.MetadataValue.md(_describe_runs(empty))
    metadata["top_artists"] = _table(
        [("rank", "int"), ("artist", "string"), ("listens", "int")],
        [
            {"rank": rank, "artist": name, "listens": count}
            for rank, (name, count) in enumerate(report.top_artists, 1)
        ],
    )
    metadata["top_tracks"] = _table(
        [("rank", "int"), ("track", "string"), ("artists", "string"), ("listens", "int")],
        [
            {"rank": rank, "track": t.title, "artists": t.artists, "listens": t.listens}
            for rank, t in enumerate(report.top_tracks, 1)
        ],
    )
    metadata["listens_per_month"] = _table(
        [("month", "string"), ("listens", "int")],
        [{"month": str(month), "listens": count} for month, count in report.span],
    )
    metadata["records"] = dg.MetadataValue.int(report.records)
    metadata["skipped"] = dg.MetadataValue.int(sum(report.skipped.values()))
    metadata["skipped_by_reason"] = _table(
        [("reason", "string"), ("records", "int")],
        [
            {"reason": reason, "records": count}
            for reason, count in sorted(report.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )
    return metadata
