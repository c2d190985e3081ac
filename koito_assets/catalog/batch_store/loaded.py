"""What every entity state shares: placeholder ids, id allocation, alias and MBID writes,
and the record of what a phase loaded (to see later whether it changed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import psycopg

from koito_assets.catalog.pg_arrays import bool_array, int_array, text_array

PLACEHOLDER_BASE = 1 << 40  # above any integer id, so placeholders sort after real ids


def clean_aliases(aliases: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(a.strip() for a in aliases if a.strip()))


def _alloc_ids(conn: psycopg.Connection, table: str, count: int) -> list[int]:
    """``count`` ids from the table's identity sequence, ascending (creation order = id order)."""
    rows = conn.execute(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
        (table, count),
    ).fetchall()
    return sorted(r[0] for r in rows)


def real_ids(conn: psycopg.Connection, table: str, created: list) -> dict[int, int]:
    """Placeholder id → real id for the entities ``created`` in one phase (one statement)."""
    ids = _alloc_ids(conn, table, len(created)) if created else []
    return {new.id: i for new, i in zip(created, ids, strict=True)}


def write_mbid_updates(
    conn: psycopg.Connection, table: str, updates: dict[int, str], real: dict[int, int]
) -> None:
    """MBIDs found for entities (existing or created here): one UPDATE for all. ``table`` is
    one of this module's constants, never data."""
    if updates:
        conn.execute(
            f"UPDATE {table} e SET musicbrainz_id = u.m::uuid "
            "FROM unnest(%s::int[], %s::text[]) AS u(i, m) WHERE e.id = u.i",
            (int_array(real.get(i, i) for i in updates), text_array(updates.values())),
        )


def write_aliases(
    conn: psycopg.Connection,
    table: str,
    owner_column: str,
    rows: dict[tuple[int, str], tuple[str, bool]],
    real: dict[int, int],
) -> None:
    """Alias rows, (owner id, alias) → (source, primary): one multi-row INSERT for all. The
    names are this module's constants, never data."""
    if rows:
        keys = list(rows)
        conn.execute(
            f"INSERT INTO {table} ({owner_column}, alias, source, is_primary) "
            "SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::bool[]) "
            "ON CONFLICT DO NOTHING",
            (
                int_array(real.get(owner, owner) for owner, _ in keys),
                text_array(alias for _, alias in keys),
                text_array(rows[k][0] for k in keys),
                bool_array(rows[k][1] for k in keys),
            ),
        )


@dataclass
class Loaded:
    """What a phase read: every load query with its parameters and answer, to check it later.

    The load queries aggregate arrays in a fixed order, so equal answers are equal row sets."""

    loads: list[tuple[str, dict[str, str], list[tuple]]] = field(default_factory=list)
    real: dict[int, int] = field(default_factory=dict)  # placeholder id → id, once allocated
    table: ClassVar[str]  # the Koito table of the entities a subclass creates (its ``created``)

    def allocate(self, conn: psycopg.Connection) -> dict[int, int]:
        """Real ids for the entities created here: placeholder id → id (one statement)."""
        self.real = real_ids(conn, self.table, self.created)  # type: ignore[attr-defined]
        return self.real

    def _read(self, conn: psycopg.Connection, query: str, params: dict[str, str]) -> list[tuple]:
        rows = conn.execute(query, params).fetchall()
        self.loads.append((query, params, rows))
        return rows

    def changed(self, conn: psycopg.Connection) -> bool:
        """Would the loads answer differently now? (One statement per load, usually one.)"""
        return any(
            sorted(conn.execute(q, p).fetchall()) != sorted(rows) for q, p, rows in self.loads
        )
