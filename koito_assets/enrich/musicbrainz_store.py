"""Every answer MusicBrainz gave, kept in ``koito_import.musicbrainz_answers``.

At one request a second, an answer is worth keeping: a killed import, a re-import, or another
file naming the same MBIDs reads it here instead of asking again. An answer is used for
``KOITO_MUSICBRAINZ_CACHE_DAYS`` (default 30); "no entity has this MBID" for one day at most,
since an MBID MusicBrainz does not know yet may be added. Failures are never stored.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import timedelta
from typing import Any

import psycopg
import psycopg_pool

from koito_assets.db.sql_files import sql_text
from koito_assets.enrich.musicbrainz import (
    ARTIST,
    RECORDING,
    RELEASE,
    RELEASE_GROUP,
    Answer,
    MbArtist,
    MbRecording,
    MbRelease,
)

Question = tuple[str, str]  # (kind, MBID)

# The shape of the stored JSON; raise it when encode() changes, and older rows are ignored.
FORMAT = 1
NOT_FOUND_DAYS = 1


def encode(kind: str, answer: Answer) -> dict[str, Any]:
    """An answer as the JSON the store keeps."""
    if kind == ARTIST:
        assert isinstance(answer, MbArtist)
        return {"name": answer.name, "aliases": list(answer.aliases)}
    if kind == RELEASE:
        assert isinstance(answer, MbRelease)
        return {
            "title": answer.title,
            "credits": list(answer.artist_credit_names),
            "group": answer.release_group_id,
        }
    if kind == RELEASE_GROUP:
        return {"titles": list(answer)}
    assert isinstance(answer, MbRecording)
    return {"title": answer.title, "length_ms": answer.length_ms}


def decode(kind: str, stored: dict[str, Any]) -> Answer:
    """The answer ``encode`` stored."""
    if kind == ARTIST:
        return MbArtist(stored["name"], tuple(stored["aliases"]))
    if kind == RELEASE:
        return MbRelease(stored["title"], tuple(stored["credits"]), stored["group"])
    if kind == RELEASE_GROUP:
        return tuple(stored["titles"])
    if kind == RECORDING:
        return MbRecording(stored["title"], stored["length_ms"])
    raise ValueError(f"unknown kind {kind!r}")


class AnswerStore:
    """Reads and writes stored answers through a pool; safe to share between threads."""

    def __init__(self, pool: psycopg_pool.ConnectionPool, days: int) -> None:
        self.pool = pool
        self.ttl = timedelta(days=days)
        self.not_found_ttl = min(self.ttl, timedelta(days=NOT_FOUND_DAYS))

    def _params(self) -> dict[str, Any]:
        return {"format": FORMAT, "ttl": self.ttl, "not_found_ttl": self.not_found_ttl}

    def read(self, questions: Collection[Question]) -> dict[Question, Answer | None]:
        """The unexpired stored answers among ``questions``; None means "no such entity"."""
        if not questions:
            return {}
        params = {
            **self._params(),
            "kinds": [kind for kind, _ in questions],
            "mbids": [mbid for _, mbid in questions],
        }
        with self.pool.connection() as conn:
            rows = conn.execute(sql_text("musicbrainz", "read_answers"), params).fetchall()
        return {
            (kind, mbid): None if stored is None else decode(kind, stored)
            for kind, mbid, stored in rows
        }

    def write(self, found: Mapping[Question, Answer], not_found: Iterable[Question] = ()) -> None:
        """Keep ``found`` answers and ``not_found`` questions (MusicBrainz's 404), as of now."""
        rows: dict[Question, str | None] = {
            question: json.dumps(encode(question[0], answer), ensure_ascii=False)
            for question, answer in found.items()
        }
        rows.update(dict.fromkeys(not_found))
        if not rows:
            return
        params = {
            "format": FORMAT,
            "kinds": [kind for kind, _ in rows],
            "mbids": [mbid for _, mbid in rows],
            "answers": list(rows.values()),
        }
        with self.pool.connection() as conn:
            conn.execute(sql_text("musicbrainz", "write_answers"), params)

    def prune(self) -> int:
        """Forget expired answers; how many were forgotten."""
        with self.pool.connection() as conn:
            return conn.execute(sql_text("musicbrainz", "prune_answers"), self._params()).rowcount


def stored_release_groups(conn: psycopg.Connection, release_mbids: Iterable[str]) -> dict[str, str]:
    """The release group MusicBrainz named for each release (those it was asked about)."""
    mbids = sorted(set(release_mbids))
    if not mbids:
        return {}
    rows = conn.execute(
        sql_text("musicbrainz", "release_groups"), {"format": FORMAT, "mbids": mbids}
    ).fetchall()
    return dict(rows)
