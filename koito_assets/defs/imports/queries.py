"""The SQL the import assets run, kept in .sql files beside them."""

from functools import cache
from importlib import resources


@cache
def load_sql(name: str) -> str:
    """The text of ``sql/<name>.sql`` in this package."""
    return (resources.files(__package__) / "sql" / f"{name}.sql").read_text(encoding="utf-8")
