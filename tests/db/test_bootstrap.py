"""A database that is already prepared is recognised in one query; anything missing is not."""

from __future__ import annotations

import dataclasses

import psycopg

from koito_assets.db.bootstrap import is_prepared, prepare_database
from koito_assets.settings import Settings


def test_prepared_only_when_nothing_is_left_to_do(empty_db_url: str, test_settings: Settings):
    assert not is_prepared(empty_db_url, test_settings)
    prepare_database(empty_db_url, test_settings)
    assert is_prepared(empty_db_url, test_settings)

    other = dataclasses.replace(test_settings, artist_separators=(r"\s*;\s*",))
    assert not is_prepared(empty_db_url, other)  # the lookup cache would be emptied first

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM koito_import.schema_migrations WHERE version = 20")
    assert not is_prepared(empty_db_url, test_settings)
