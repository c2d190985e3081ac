"""Where the Koito database is, and how we talk about it without leaking a password.

``open_database(settings)`` yields the URL of the Koito database: ``KOITO_DATABASE_URL`` when it
is set, otherwise database ``koito`` on the embedded server (started on demand, shared with the
project's other processes, let go on exit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from koito_assets.db.embedded import EmbeddedServer
from koito_assets.settings import Settings

EMBEDDED_KOITO_DB = "koito"
EMBEDDED_DAGSTER_DB = "dagster"


class DatabaseUnreachable(RuntimeError):
    """The configured PostgreSQL server did not answer; the message names host and port only."""


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``; safe to print or log."""
    if "://" not in url:
        # key=value conninfo: mask the password=... pair
        parts = []
        for item in url.split():
            key, _, _ = item.partition("=")
            parts.append(f"{key}=***" if key.strip() == "password" else item)
        return " ".join(parts)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def describe_target(url: str) -> str:
    """``host:port`` (or the socket directory) of a libpq URL or conninfo string."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unparsable database URL"
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    return f"{host}:{port}"


def connect(url: str, *, autocommit: bool = False, timeout: int = 10) -> psycopg.Connection:
    """Open one connection, turning any failure to reach the server into DatabaseUnreachable."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=timeout)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        reason = reason.replace(url, mask_url(url))
        raise DatabaseUnreachable(
            f"cannot reach PostgreSQL at {describe_target(url)} ({mask_url(url)}): {reason}"
        ) from None


def ensure_database(server_url: str, name: str) -> None:
    """Create database ``name`` on the server behind ``server_url`` if it does not exist."""
    with connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                # Another process created it a moment ago (two commands started at once: the
                # loser of the race sees the catalog's unique index, not DuplicateDatabase).
                pass


@contextmanager
def embedded_server(settings: Settings) -> Iterator[EmbeddedServer]:
    """Attach to (or start) the embedded server for the duration of the block."""
    server = EmbeddedServer(settings.embedded_data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def open_database(settings: Settings) -> Iterator[str]:
    """Yield the URL of the Koito database, starting the embedded server when none is configured."""
    if settings.database_url:
        yield settings.database_url
        return
    with embedded_server(settings) as server:
        ensure_database(server.url(), EMBEDDED_KOITO_DB)
        yield server.url(EMBEDDED_KOITO_DB)
