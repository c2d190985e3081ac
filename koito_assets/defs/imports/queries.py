"""The SQL the import assets run, kept in ``sql/imports/``."""

from koito_assets.db.sql_files import sql_text


def load_sql(name: str) -> str:
    """The text of ``sql/imports/<name>.sql``."""
    return sql_text("imports", name)
