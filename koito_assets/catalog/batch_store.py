"""The catalogue store of the bulk path: answers from state loaded in bulk, writes set-based.

Resolution runs in two phases over many records: all artists, then releases and tracks
record by record. For each phase one query per entity kind loads everything the phase may ask
about (every name, MBID, (title, artist) and (title, release) pair of the batch); the same
rules as the single-listen path then run in memory in file order, and see their own earlier
creations exactly as the database would (new entities get placeholder ids that sort after
every real id, so "lowest id" still means "oldest"). A phase's creations are then written with
a handful of multi-row statements, whatever the number of records.

Artists can be resolved for the whole batch first: nothing later in a resolution writes what
an artist lookup reads. Releases and tracks cannot be split so: creating a track links its
artists to its release, and a later record's release lookup may find the release through that
link (Koito-export records, which skip AddArtistsToAlbum, depend on it).

Locks come after a first run (only then is it known what the batch creates); once they are
held, the loads are read again, and only if their answers changed (someone created one of
those entities meanwhile) does the phase run again, now under the locks.

A question the loaded state cannot answer (the batch asked for something the loader did not
foresee) is answered by a live query and counted in ``live_queries``, so a gap costs speed,
never correctness; tests assert it stays at zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import psycopg

from koito_assets.catalog.pg_arrays import bool_array, int_array, text_array
from koito_assets.enrich.musicbrainz import MusicBrainz

PLACEHOLDER_BASE = 1 << 40  # above any integer id, so placeholders sort after real ids


def _clean(aliases: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(a.strip() for a in aliases if a.strip()))


def _alloc_ids(conn: psycopg.Connection, table: str, count: int) -> list[int]:
    """``count`` ids from the table's identity sequence, ascending (creation order = id order)."""
    rows = conn.execute(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
        (table, count),
    ).fetchall()
    return sorted(r[0] for r in rows)


def _real_ids(conn: psycopg.Connection, table: str, created: list) -> dict[int, int]:
    """Placeholder id → real id for the entities ``created`` in one phase (one statement)."""
    ids = _alloc_ids(conn, table, len(created)) if created else []
    return {new.id: i for new, i in zip(created, ids, strict=True)}


def _write_mbid_updates(
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


def _write_aliases(
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
        self.real = _real_ids(conn, self.table, self.created)  # type: ignore[attr-defined]
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


# -- artists ----------------------------------------------------------------------------------

_LOAD_ARTISTS = """
WITH q_names AS (SELECT DISTINCT unnest(%(names)s::text[]) AS name),
     q_mbids AS (SELECT DISTINCT unnest(%(mbids)s::uuid[]) AS mbid),
     by_name AS (
        SELECT n.name, min(aa.artist_id) AS id
        FROM q_names n JOIN artist_aliases aa ON aa.alias = n.name
        WHERE EXISTS (SELECT 1 FROM artist_aliases p WHERE p.artist_id = aa.artist_id AND p.is_primary)
        GROUP BY n.name),
     by_mbid AS (
        SELECT m.mbid::text AS name, a.id
        FROM q_mbids m JOIN artists a ON a.musicbrainz_id = m.mbid
        WHERE EXISTS (SELECT 1 FROM artist_aliases p WHERE p.artist_id = a.id AND p.is_primary)),
     found AS (SELECT id FROM by_name UNION SELECT id FROM by_mbid)
SELECT 'n', name, id, NULL::text, NULL::text[] FROM by_name
UNION ALL SELECT 'm', name, id, NULL, NULL FROM by_mbid
UNION ALL
SELECT 'i', NULL, a.id, a.musicbrainz_id::text,
       (SELECT array_agg(aa.alias ORDER BY aa.is_primary DESC, aa.alias)
        FROM artist_aliases aa WHERE aa.artist_id = a.id)
FROM artists a WHERE a.id IN (SELECT id FROM found)
"""


@dataclass(slots=True)
class NewArtist:
    id: int
    name: str
    mbid: str | None
    image_source: str | None


@dataclass
class ArtistState(Loaded):
    table = "artists"
    by_name: dict[str, int | None] = field(default_factory=dict)
    by_mbid: dict[str, int | None] = field(default_factory=dict)
    mbid: dict[int, str | None] = field(default_factory=dict)
    aliases: dict[int, list[str]] = field(default_factory=dict)
    created: list[NewArtist] = field(default_factory=list)
    mbid_updates: dict[int, str] = field(default_factory=dict)
    alias_rows: dict[tuple[int, str], tuple[str, bool]] = field(default_factory=dict)

    def load(self, conn: psycopg.Connection, names: Iterable[str], mbids: Iterable[str]) -> None:
        names, mbids = (
            list(set(names) - self.by_name.keys()),
            list(set(mbids) - self.by_mbid.keys()),
        )
        if not names and not mbids:
            return
        self.by_name.update(dict.fromkeys(names))
        self.by_mbid.update(dict.fromkeys(mbids))
        params = {"names": text_array(names), "mbids": text_array(mbids)}
        for kind, name, artist_id, mbid, aliases in self._read(conn, _LOAD_ARTISTS, params):
            if kind == "n":
                self.by_name[name] = artist_id
            elif kind == "m":
                self.by_mbid[name] = artist_id
            else:
                self.mbid[artist_id] = mbid
                self.aliases[artist_id] = list(aliases or ())

    def add_name(self, name: str, artist_id: int) -> None:
        current = self.by_name.get(name)
        self.by_name[name] = artist_id if current is None else min(current, artist_id)

    def write(self, conn: psycopg.Connection) -> None:
        """Write the changes made here, a few multi-row statements."""
        real = self.real
        if self.created:
            conn.execute(
                "INSERT INTO artists (id, musicbrainz_id, image, image_source) OVERRIDING SYSTEM VALUE "
                "SELECT i, m::uuid, CASE WHEN s LIKE 'http%%' THEN gen_random_uuid() END, s "
                "FROM unnest(%s::int[], %s::text[], %s::text[]) AS u(i, m, s)",
                (
                    int_array(real[n.id] for n in self.created),
                    text_array(n.mbid for n in self.created),
                    text_array(n.image_source for n in self.created),
                ),
            )
        _write_mbid_updates(conn, self.table, self.mbid_updates, real)
        _write_aliases(conn, "artist_aliases", "artist_id", self.alias_rows, real)


# -- releases ---------------------------------------------------------------------------------

_LOAD_ALBUMS = """
WITH q AS (SELECT DISTINCT t, a FROM unnest(%(titles)s::text[], %(artists)s::int[]) AS q(t, a)),
     pairs AS (
        SELECT q.t, q.a, ra.release_id AS id
        FROM q
        JOIN release_aliases ra ON ra.alias = q.t AND ra.is_primary
        JOIN artist_releases ar ON ar.release_id = ra.release_id AND ar.artist_id = q.a),
     by_mbid AS (
        SELECT r.musicbrainz_id::text AS m, r.id
        FROM releases r
        WHERE r.musicbrainz_id = ANY(%(mbids)s::uuid[])
          AND EXISTS (SELECT 1 FROM release_aliases p WHERE p.release_id = r.id AND p.is_primary)),
     found AS (SELECT id FROM pairs UNION SELECT id FROM by_mbid)
SELECT 'p', t, a, id, NULL::text, NULL::text[] FROM pairs
UNION ALL SELECT 'm', m, NULL, id, NULL, NULL FROM by_mbid
UNION ALL
SELECT 'i', NULL, NULL, r.id, r.musicbrainz_id::text,
       (SELECT array_agg(ra.alias ORDER BY ra.alias) FROM release_aliases ra
        WHERE ra.release_id = r.id AND ra.is_primary)
FROM releases r WHERE r.id IN (SELECT id FROM found)
"""


@dataclass(slots=True)
class NewAlbum:
    id: int
    mbid: str | None
    various: bool
    image_source: str | None


@dataclass
class AlbumState(Loaded):
    table = "releases"
    pairs: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # loaded from the DB
    added: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # made findable here
    by_mbid: dict[str, int | None] = field(default_factory=dict)
    mbid: dict[int, str | None] = field(default_factory=dict)
    titles: dict[int, list[str]] = field(default_factory=dict)  # primary titles
    created: list[NewAlbum] = field(default_factory=list)
    mbid_updates: dict[int, str] = field(default_factory=dict)
    links: dict[tuple[int, int], bool] = field(default_factory=dict)  # (artist, album) → primary
    alias_rows: dict[tuple[int, str], tuple[str, bool]] = field(default_factory=dict)

    def load(
        self, conn: psycopg.Connection, pairs: Iterable[tuple[str, int]], mbids: Iterable[str]
    ) -> None:
        pairs = [p for p in set(pairs) if p not in self.pairs]
        mbids = list(set(mbids) - self.by_mbid.keys())
        if not pairs and not mbids:
            return
        for pair in pairs:
            self.pairs[pair] = set()
        self.by_mbid.update(dict.fromkeys(mbids))
        params = {
            "titles": text_array(t for t, _ in pairs),
            "artists": int_array(a for _, a in pairs),
            "mbids": text_array(mbids),
        }
        for kind, text, artist_id, album_id, mbid, titles in self._read(conn, _LOAD_ALBUMS, params):
            if kind == "p":
                self.pairs[(text, artist_id)].add(album_id)
            elif kind == "m":
                self.by_mbid[text] = album_id
            else:
                self.mbid[album_id] = mbid
                self.titles[album_id] = list(titles or ())

    def loaded_by_title(self) -> dict[str, set[int]]:
        """Existing releases seen by the loads, by primary title: any of them may be the release
        of a record with that album title, directly or through a link made in this batch."""
        found: dict[str, set[int]] = {}
        for album_id, titles in self.titles.items():
            if album_id < PLACEHOLDER_BASE:
                for title in titles:
                    found.setdefault(title, set()).add(album_id)
        return found

    def candidates(self, title: str, artist_id: int) -> set[int]:
        return self.pairs.get((title, artist_id), set()) | self.added.get((title, artist_id), set())

    def link(self, album_id: int, artist_id: int, primary: bool) -> None:
        if (artist_id, album_id) in self.links:
            return  # made findable already (most tracks re-link what the release step linked)
        self.links[(artist_id, album_id)] = primary
        for title in self.titles.get(album_id, ()):
            self.added.setdefault((title, artist_id), set()).add(album_id)

    def write(self, conn: psycopg.Connection) -> None:
        """Write the changes made here, a few multi-row statements."""
        real = self.real
        if self.created:
            conn.execute(
                "INSERT INTO releases (id, musicbrainz_id, various_artists, image, image_source) "
                "OVERRIDING SYSTEM VALUE "
                "SELECT i, m::uuid, v, CASE WHEN s LIKE 'http%%' THEN gen_random_uuid() END, s "
                "FROM unnest(%s::int[], %s::text[], %s::bool[], %s::text[]) AS u(i, m, v, s)",
                (
                    int_array(real[n.id] for n in self.created),
                    text_array(n.mbid for n in self.created),
                    bool_array(n.various for n in self.created),
                    text_array(n.image_source for n in self.created),
                ),
            )
        _write_mbid_updates(conn, self.table, self.mbid_updates, real)

    def write_links(self, conn: psycopg.Connection) -> None:
        """Write the artist links and aliases made here; their releases and artists must exist and
        be locked already (the caller may skip the per-row foreign-key checks)."""
        real = self.real
        if self.links:
            keys = list(self.links)
            conn.execute(
                "INSERT INTO artist_releases (artist_id, release_id, is_primary) "
                "SELECT * FROM unnest(%s::int[], %s::int[], %s::bool[]) ON CONFLICT DO NOTHING",
                (
                    int_array(a for a, _ in keys),
                    int_array(real.get(r, r) for _, r in keys),
                    bool_array(self.links[k] for k in keys),
                ),
            )
        _write_aliases(conn, "release_aliases", "release_id", self.alias_rows, real)


# -- tracks -----------------------------------------------------------------------------------

_LOAD_TRACKS = """
WITH q AS (SELECT DISTINCT t, r FROM unnest(%(titles)s::text[], %(albums)s::int[]) AS q(t, r)),
     cand AS (
        SELECT q.t, q.r, tr.id
        FROM q
        JOIN tracks tr ON tr.release_id = q.r
        JOIN track_aliases ta ON ta.track_id = tr.id AND ta.is_primary AND ta.alias = q.t),
     by_mbid AS (
        SELECT t.musicbrainz_id::text AS m, t.id
        FROM tracks t
        WHERE t.musicbrainz_id = ANY(%(mbids)s::uuid[])
          AND EXISTS (SELECT 1 FROM track_aliases p WHERE p.track_id = t.id AND p.is_primary)),
     found AS (SELECT id FROM cand UNION SELECT id FROM by_mbid),
     -- One grouped pass: Koito has no index on artist_tracks that starts with track_id, so a
     -- correlated subquery scanned the whole table once per found track (15,000 found tracks
     -- against 75,000 credits: 74 s instead of a fraction of one).
     credits AS (
        SELECT at.track_id, array_agg(at.artist_id ORDER BY at.artist_id) AS artists
        FROM artist_tracks at WHERE at.track_id IN (SELECT id FROM found)
        GROUP BY at.track_id)
SELECT 'p', t, r, id, NULL::text, NULL::int, NULL::int[] FROM cand
UNION ALL SELECT 'm', m, NULL, id, NULL, NULL, NULL FROM by_mbid
UNION ALL
SELECT 'i', NULL, NULL, t.id, t.musicbrainz_id::text, t.duration, c.artists
FROM tracks t LEFT JOIN credits c ON c.track_id = t.id
WHERE t.id IN (SELECT id FROM found)
"""


@dataclass(slots=True)
class NewTrack:
    id: int
    title: str
    mbid: str | None
    album_id: int
    duration_s: int


@dataclass
class TrackState(Loaded):
    table = "tracks"
    pairs: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # (title, album), loaded
    added: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # created here
    by_mbid: dict[str, int | None] = field(default_factory=dict)
    mbid: dict[int, str | None] = field(default_factory=dict)
    duration: dict[int, int] = field(default_factory=dict)
    credits: dict[int, frozenset[int]] = field(default_factory=dict)
    created: list[NewTrack] = field(default_factory=list)
    mbid_updates: dict[int, str] = field(default_factory=dict)
    duration_updates: dict[int, int] = field(default_factory=dict)
    credit_rows: dict[tuple[int, int], bool] = field(default_factory=dict)  # (artist, track)
    alias_rows: dict[tuple[int, str], tuple[str, bool]] = field(default_factory=dict)

    def load(
        self, conn: psycopg.Connection, pairs: Iterable[tuple[str, int]], mbids: Iterable[str]
    ) -> None:
        pairs = [p for p in set(pairs) if p not in self.pairs]
        mbids = list(set(mbids) - self.by_mbid.keys())
        if not pairs and not mbids:
            return
        for pair in pairs:
            self.pairs[pair] = set()
        self.by_mbid.update(dict.fromkeys(mbids))
        params = {
            "titles": text_array(t for t, _ in pairs),
            "albums": int_array(a for _, a in pairs),
            "mbids": text_array(mbids),
        }
        for kind, text, album_id, track_id, mbid, duration, credits in self._read(
            conn, _LOAD_TRACKS, params
        ):
            if kind == "p":
                self.pairs[(text, album_id)].add(track_id)
            elif kind == "m":
                self.by_mbid[text] = track_id
            else:
                self.mbid[track_id] = mbid
                self.duration[track_id] = duration
                self.credits[track_id] = frozenset(credits or ())

    def write(self, conn: psycopg.Connection, albums: dict[int, int]) -> None:
        """Write the changes made here; ``albums`` maps the placeholder ids of releases created
        alongside to their real ids."""
        real = self.real
        if self.created:
            conn.execute(
                "INSERT INTO tracks (id, musicbrainz_id, duration, release_id) OVERRIDING SYSTEM VALUE "
                "SELECT * FROM unnest(%s::int[], %s::uuid[], %s::int[], %s::int[])",
                (
                    int_array(real[n.id] for n in self.created),
                    text_array(n.mbid for n in self.created),
                    int_array(n.duration_s for n in self.created),
                    int_array(albums.get(n.album_id, n.album_id) for n in self.created),
                ),
            )
        _write_mbid_updates(conn, self.table, self.mbid_updates, real)
        if self.duration_updates:
            conn.execute(
                "UPDATE tracks t SET duration = u.d "
                "FROM unnest(%s::int[], %s::int[]) AS u(i, d) WHERE t.id = u.i AND t.duration = 0",
                (
                    int_array(real.get(t, t) for t in self.duration_updates),
                    int_array(self.duration_updates.values()),
                ),
            )

    def write_links(self, conn: psycopg.Connection) -> None:
        """Write the artist credits and aliases of the tracks created here; their artists must
        exist and be locked already (the caller may skip the per-row foreign-key checks)."""
        real = self.real
        if not self.created:
            return
        keys = list(self.credit_rows)
        conn.execute(
            "INSERT INTO artist_tracks (artist_id, track_id, is_primary) "
            "SELECT * FROM unnest(%s::int[], %s::int[], %s::bool[])",
            (
                int_array(a for a, _ in keys),
                int_array(real[t] for _, t in keys),
                bool_array(self.credit_rows[k] for k in keys),
            ),
        )
        _write_aliases(conn, "track_aliases", "track_id", self.alias_rows, real)


class BatchStore:
    """:class:`~koito_assets.catalog.store.CatalogStore` over loaded state; see the module doc."""

    def __init__(
        self, conn: psycopg.Connection, musicbrainz: MusicBrainz, separators: Sequence[str]
    ) -> None:
        self.conn = conn
        self.musicbrainz = musicbrainz
        self.separators = separators
        self.artists = ArtistState()
        self.albums = AlbumState()
        self.tracks = TrackState()
        self.requested_locks: set[int] = set()
        self.live_queries = 0
        self._next = PLACEHOLDER_BASE

    def _placeholder(self) -> int:
        self._next += 1
        return self._next

    def lock(self, keys: Iterable[int]) -> bool:
        # Recorded, not taken: the bulk resolver takes them all in order afterwards, checks its
        # loads and re-runs if they changed. Until then nothing can change what we answer.
        self.requested_locks.update(keys)
        return False

    # -- artists ----------------------------------------------------------------------------
    def artist_by_name(self, name: str) -> int | None:
        if name not in self.artists.by_name:
            self.live_queries += 1
            self.artists.load(self.conn, [name], [])
        return self.artists.by_name[name]

    def artist_by_mbid(self, mbid: str) -> int | None:
        if mbid not in self.artists.by_mbid:
            self.live_queries += 1
            self.artists.load(self.conn, [], [mbid])
        return self.artists.by_mbid[mbid]

    def artist_mbid(self, artist_id: int) -> str | None:
        return self.artists.mbid[artist_id]

    def artist_aliases(self, artist_id: int) -> list[str]:
        return self.artists.aliases[artist_id]

    def create_artist(
        self,
        name: str,
        mbid: str | None,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int:
        state = self.artists
        name = name.strip()
        new = NewArtist(self._placeholder(), name, mbid, image_source)
        state.created.append(new)
        state.mbid[new.id] = mbid
        state.aliases[new.id] = []
        if mbid:
            state.by_mbid[mbid] = new.id
        state.alias_rows[(new.id, name)] = ("Canonical", True)
        state.aliases[new.id].append(name)
        self._ensure_names([name])
        state.add_name(name, new.id)
        if aliases:
            self.add_artist_aliases(new.id, aliases, alias_source)
        return new.id

    def _ensure_names(self, names: Sequence[str]) -> None:
        missing = [n for n in names if n not in self.artists.by_name]
        if missing:
            self.live_queries += 1
            self.artists.load(self.conn, missing, [])

    def set_artist_mbid(self, artist_id: int, mbid: str) -> None:
        self.artists.mbid[artist_id] = mbid
        self.artists.by_mbid[mbid] = artist_id
        if artist_id >= PLACEHOLDER_BASE:
            next(n for n in self.artists.created if n.id == artist_id).mbid = mbid
        else:
            self.artists.mbid_updates[artist_id] = mbid

    def add_artist_aliases(self, artist_id: int, aliases: Sequence[str], source: str) -> None:
        state = self.artists
        cleaned = _clean(aliases)
        self._ensure_names(cleaned)
        for alias in cleaned:
            if alias in state.aliases[artist_id]:
                continue
            state.aliases[artist_id].append(alias)
            state.alias_rows.setdefault((artist_id, alias), (source, False))
            state.add_name(alias, artist_id)

    # -- releases ---------------------------------------------------------------------------
    def album_by_mbid(self, mbid: str) -> int | None:
        if mbid not in self.albums.by_mbid:
            self.live_queries += 1
            self.albums.load(self.conn, [], [mbid])
        return self.albums.by_mbid[mbid]

    def _album_candidates(self, titles: Sequence[str], artist_id: int) -> set[int]:
        missing = [(t, artist_id) for t in titles if (t, artist_id) not in self.albums.pairs]
        if missing and artist_id < PLACEHOLDER_BASE:
            self.live_queries += 1
            self.albums.load(self.conn, missing, [])
        found: set[int] = set()
        for title in titles:
            found |= self.albums.candidates(title, artist_id)
        return found

    def album_by_title(self, title: str, artist_id: int) -> int | None:
        state, pair = self.albums, (title, artist_id)
        loaded = state.pairs.get(pair)
        if loaded is None and artist_id < PLACEHOLDER_BASE:
            self.live_queries += 1
            state.load(self.conn, [pair], [])
            loaded = state.pairs[pair]
        added = state.added.get(pair)
        if not added:
            return min(loaded) if loaded else None
        return min(loaded | added) if loaded else min(added)

    def album_by_titles_without_mbid(self, titles: Sequence[str], artist_id: int) -> int | None:
        found = self._album_candidates(titles, artist_id)
        return min((a for a in found if self.albums.mbid[a] is None), default=None)

    def album_mbid(self, album_id: int) -> str | None:
        return self.albums.mbid[album_id]

    def create_album(
        self,
        title: str,
        mbid: str | None,
        artist_ids: Sequence[int],
        various_artists: bool = False,
        aliases: Sequence[str] = (),
        alias_source: str = "MusicBrainz",
        image_source: str | None = None,
    ) -> int:
        state = self.albums
        new = NewAlbum(self._placeholder(), mbid, various_artists, image_source)
        state.created.append(new)
        state.mbid[new.id] = mbid
        state.titles[new.id] = [title]
        if mbid:
            state.by_mbid[mbid] = new.id
        state.alias_rows[(new.id, title)] = ("Canonical", True)
        for position, artist_id in enumerate(artist_ids):
            state.link(new.id, artist_id, position == 0)
        if aliases:
            self.add_album_aliases(new.id, aliases, alias_source)
        return new.id

    def set_album_mbid(self, album_id: int, mbid: str) -> None:
        self.albums.mbid[album_id] = mbid
        self.albums.by_mbid[mbid] = album_id
        if album_id >= PLACEHOLDER_BASE:
            next(n for n in self.albums.created if n.id == album_id).mbid = mbid
        else:
            self.albums.mbid_updates[album_id] = mbid

    def add_album_aliases(self, album_id: int, aliases: Sequence[str], source: str) -> None:
        for alias in _clean(aliases):
            self.albums.alias_rows.setdefault((album_id, alias), (source, False))

    def link_artists_to_album(self, album_id: int, artist_ids: Sequence[int]) -> None:
        for artist_id in artist_ids:
            self.albums.link(album_id, artist_id, False)

    # -- tracks -----------------------------------------------------------------------------
    def track_by_mbid(self, mbid: str) -> int | None:
        if mbid not in self.tracks.by_mbid:
            self.live_queries += 1
            self.tracks.load(self.conn, [], [mbid])
        return self.tracks.by_mbid[mbid]

    def track_by_info(self, title: str, album_id: int, artist_ids: Sequence[int]) -> int | None:
        state = self.tracks
        if album_id >= PLACEHOLDER_BASE:
            state.pairs.setdefault((title, album_id), set())  # a new release has no tracks yet
        elif (title, album_id) not in state.pairs:
            self.live_queries += 1
            state.load(self.conn, [(title, album_id)], [])
        wanted = set(artist_ids)
        if len(wanted) != len(artist_ids):
            return None  # Koito's count(DISTINCT) = cardinality never holds with a repeat
        best = None
        for candidates in (state.pairs[(title, album_id)], state.added.get((title, album_id), ())):
            for track in candidates:
                if (best is None or track < best) and wanted <= state.credits[track]:
                    best = track
        return best

    def track_state(self, track_id: int) -> tuple[str | None, int]:
        return self.tracks.mbid[track_id], self.tracks.duration[track_id]

    def create_track(
        self,
        title: str,
        mbid: str | None,
        album_id: int,
        artist_ids: Sequence[int],
        duration_s: int,
        aliases: Sequence[str] = (),
        alias_source: str = "Import",
    ) -> int:
        state = self.tracks
        self._next += 1
        new_id = self._next  # as _placeholder(), inline: this runs once per new track
        state.created.append(NewTrack(new_id, title, mbid, album_id, duration_s))
        state.mbid[new_id] = mbid
        state.duration[new_id] = duration_s
        state.credits[new_id] = frozenset(artist_ids)
        if mbid:
            state.by_mbid[mbid] = new_id
        pair = (title, album_id)
        added = state.added.get(pair)
        if added is None:
            state.added[pair] = {new_id}
        else:
            added.add(new_id)
        credit_rows, links, link = state.credit_rows, self.albums.links, self.albums.link
        primary = True
        for artist_id in artist_ids:
            credit_rows[(artist_id, new_id)] = primary
            primary = False
            if (artist_id, album_id) not in links:  # link() checks the same first
                link(album_id, artist_id, False)  # Koito's SaveTrack links them too
        state.alias_rows[(new_id, title)] = ("Canonical", True)
        if aliases:
            for alias in _clean(aliases):
                state.alias_rows.setdefault((new_id, alias), (alias_source, False))
        return new_id

    def set_track_mbid(self, track_id: int, mbid: str) -> None:
        self.tracks.mbid[track_id] = mbid
        self.tracks.by_mbid[mbid] = track_id
        if track_id >= PLACEHOLDER_BASE:
            next(n for n in self.tracks.created if n.id == track_id).mbid = mbid
        else:
            self.tracks.mbid_updates[track_id] = mbid

    def set_track_duration(self, track_id: int, duration_s: int) -> None:
        if self.tracks.duration[track_id] == 0 and duration_s > 0:
            self.tracks.duration[track_id] = duration_s
            self.tracks.duration_updates[track_id] = duration_s
