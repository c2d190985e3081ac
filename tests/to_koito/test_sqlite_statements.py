"""The SQL files of the merge split into statements as SQLite reads them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from koito_assets.db.sql_files import sql_folder, sql_text
from koito_assets.to_koito.sqlite_mapping import register_functions, run_script, statements
from tests.to_koito.koito_sqlite import create_koito_db


def test_statements_split_where_sqlite_ends_them():
    script = """
    -- a comment; with a semicolon
    INSERT INTO t VALUES ('a;b');
    CREATE TRIGGER x AFTER INSERT ON t BEGIN
        DELETE FROM u; DELETE FROM v;
    END;
    UPDATE t SET a = 1;  -- the last statement
    -- and a comment after it;
    """
    found = statements(script)
    assert len(found) == 3
    assert found[0].endswith("VALUES ('a;b');")
    assert found[1].startswith("CREATE TRIGGER") and found[1].endswith("END;")
    assert found[2].startswith("UPDATE t SET a = 1;")


def test_every_merge_statement_compiles_against_koitos_schema(tmp_path: Path):
    conn = sqlite3.connect(create_koito_db(tmp_path / "koito.db"), isolation_level=None)
    try:
        register_functions(conn)
        run_script(conn, "sqlite_temp_tables")  # run, not explained: the others read its tables
        scripts = sorted(
            entry.name.removesuffix(".sql")
            for entry in sql_folder("to_koito").iterdir()
            if entry.name.startswith("sqlite_")
            and entry.name.endswith(".sql")
            and entry.name != "sqlite_temp_tables.sql"
        )
        assert len(scripts) >= 12
        for name in scripts:
            found = statements(sql_text("to_koito", name))
            assert found, name
            for statement in found:
                params = {"user_id": 1, "artists_before": 0, "releases_before": 0}
                conn.execute("EXPLAIN " + statement, {**params, "tracks_before": 0})
    finally:
        conn.close()
