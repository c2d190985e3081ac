"""A Koito >= 0.3 SQLite database as Koito itself leaves it after its first start.

Koito runs its goose migrations (koito_sqlite/*.sql, our own words of Koito's SQLite schema at
commit f7dc41c), records them in goose's version table, switches the file to WAL and creates
its admin, user 1. ``create_koito_db`` does the same so the merge meets what it meets in use.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "koito_sqlite"
MIGRATION_FILES = {1: "001_initial_schema.sql", 2: "002_unique_mbid.sql"}

# goose's own table in its sqlite3 dialect, with the version-0 row goose writes on creation
GOOSE_TABLE = """
CREATE TABLE goose_db_version (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER NOT NULL,
    is_applied INTEGER NOT NULL,
    tstamp TIMESTAMP DEFAULT (datetime('now'))
);
INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1);
"""


def create_koito_db(path: Path, *, version: int = 2, admin: bool = True) -> Path:
    """A Koito SQLite file at ``path``: migrations 1..``version``, WAL, and user 1 (admin)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(GOOSE_TABLE)
        for number in range(1, version + 1):
            # 002 rebuilds tables others reference: foreign keys are off while it runs.
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.executescript(
                "BEGIN;\n"
                + (MIGRATIONS / MIGRATION_FILES[number]).read_text(encoding="utf-8")
                + f"\nINSERT INTO goose_db_version (version_id, is_applied) VALUES ({number}, 1);"
                + "\nCOMMIT;"
            )
        conn.execute("PRAGMA foreign_keys = ON")
        if admin:
            conn.execute(
                "INSERT INTO users (id, username, role, password) VALUES (1, 'admin', 'admin', ?)",
                (b"$2a$10$not-a-real-hash",),
            )
    finally:
        conn.close()
    return path


def connect(path: Path) -> sqlite3.Connection:
    """A connection as Koito opens one: foreign keys on, a 5 s busy timeout."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def schema_objects(path: Path) -> dict[str, set[str]]:
    """Names of the file's tables, views, indexes (own, not automatic) and triggers, by type."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    finally:
        conn.close()
    found: dict[str, set[str]] = {}
    for kind, name in rows:
        found.setdefault(kind, set()).add(name)
    return found
