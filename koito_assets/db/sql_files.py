"""The project's SQL files: the top-level ``sql/`` folder, installed as ``koito_assets.sql``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

SQL_PACKAGE = "koito_assets.sql"


def sql_folder(name: str) -> Traversable:
    """The folder ``sql/<name>`` (``koito``, ``koito_import``, ``imports``)."""
    return resources.files(SQL_PACKAGE) / name


@cache
def sql_text(folder: str, name: str) -> str:
    """The text of ``sql/<folder>/<name>.sql``."""
    return (sql_folder(folder) / f"{name}.sql").read_text(encoding="utf-8")
