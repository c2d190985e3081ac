"""The user imports write for: Koito's user id 1, its default admin.

Koito creates its default admin on first start; a database we create has not seen Koito yet, so
we create the same user (KOITO_DEFAULT_USERNAME / KOITO_DEFAULT_PASSWORD, bcrypt-hashed) so that
Koito can log in after migrating it.
"""

from __future__ import annotations

import bcrypt
import psycopg

IMPORT_USER_ID = 1


class NoImportUser(RuntimeError):
    """The database has users but none with id 1, the user Koito's importers write for."""


def ensure_import_user(conn: psycopg.Connection, username: str, password: str) -> bool:
    """Create Koito's default admin when the users table is empty. True if it was created."""
    with conn.transaction():
        conn.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
            if not conn.execute("SELECT 1 FROM users WHERE id = %s", (IMPORT_USER_ID,)).fetchone():
                raise NoImportUser(
                    f"the database has users but none with id {IMPORT_USER_ID}, "
                    "the user Koito imports listens for"
                )
            return False
        hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=10))
        conn.execute(
            "INSERT INTO users (id, username, role, password) OVERRIDING SYSTEM VALUE "
            "VALUES (%s, %s, 'admin', %s)",
            (IMPORT_USER_ID, username.lower(), hashed),
        )
        # keep the identity sequence past the id we chose, as if Koito had inserted it
        conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), %s)", (IMPORT_USER_ID,))
        return True
