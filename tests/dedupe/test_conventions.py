"""Which source each format is, each source's time convention, and names as services spell them."""

from __future__ import annotations

import itertools

import psycopg
import pytest

from koito_assets.dedupe import conventions
from koito_assets.sources import FORMATS


def test_every_format_we_read_belongs_to_a_source():
    assert set(conventions.SOURCE_OF_FORMAT) == set(FORMATS)
    assert set(conventions.SOURCE_OF_FORMAT.values()) == set(conventions.SOURCES)
    assert conventions.source_of_format("spotify_extended") == "spotify"
    assert conventions.source_of_format("lastfm_to_csv") == "lastfm"
    with pytest.raises(ValueError, match="no source known"):
        conventions.source_of_format("winamp")


def test_the_skip_reason_names_the_source():
    assert conventions.skip_reason("spotify") == "same_play_from_spotify"


CLIENTS = [
    None,
    "",
    "spotify",
    "lastfm",
    "maloja",
    "listenbrainz",
    "ListenBrainz lastfm importer v2",
    "ListenBrainz Archive Importer",
    "Maloja Archive Importer",
    "Navidrome",
    "web-scrobbler",
]


def test_the_database_and_the_code_hold_the_same_conventions(conn: psycopg.Connection):
    for source, client in itertools.product(conventions.SOURCES, CLIENTS):
        in_sql = conn.execute(
            "SELECT koito_import.time_convention(%s, %s)", (source, client)
        ).fetchone()[0]
        assert in_sql == conventions.time_convention(source, client), (source, client)


def test_conventions_per_source():
    # Spotify's histories stamp the end, Last.fm the start, Maloja mostly the start
    assert conventions.time_convention("spotify", "spotify") == "e"
    assert conventions.time_convention("lastfm", "lastfm") == "s"
    assert conventions.time_convention("maloja", "maloja") == "se"
    # ListenBrainz keeps the time of whoever recorded the play
    assert conventions.time_convention("listenbrainz", "ListenBrainz lastfm importer v2") == "s"
    assert conventions.time_convention("listenbrainz", "listenbrainz") == "es"
    assert conventions.time_convention("listenbrainz", "Navidrome") == "s"
    # Koito's own listens, read from their client
    assert conventions.time_convention("koito", "spotify") == "e"
    assert conventions.time_convention("koito", "") == "s"


def test_a_listen_without_provenance_comes_from_the_source_its_client_names(conn):
    rows = conn.execute(
        "SELECT c, koito_import.source_of_client(c) FROM unnest("
        "ARRAY['spotify', 'lastfm', 'maloja', 'Navidrome', NULL]) AS c"
    ).fetchall()
    assert rows == [
        ("spotify", "spotify"),
        ("lastfm", "lastfm"),
        ("maloja", "maloja"),
        ("Navidrome", "koito"),
        (None, "koito"),
    ]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Tide", "tide"),
        ("Tide (feat. Guest Singer)", "Tide"),
        ("Tide - Remastered 2011", "Tide"),
        ("Tide (Live)", "TIDE"),
        ("Tide [Remastered]", "Tide"),
        ("Tide feat. Guest", "Tide"),
        ("Don’t Stop", "Don't Stop"),
        ("Crème Brûlée", "CRÈME BRÛLÉE"),
        ("Ночь", "НОЧЬ"),
    ],
)
def test_plain_names_agree_where_services_spell_differently(conn, one, other):
    one_plain, other_plain = conn.execute(
        "SELECT koito_import.plain_name(%s), koito_import.plain_name(%s)", (one, other)
    ).fetchone()
    assert one_plain == other_plain


@pytest.mark.parametrize(
    ("one", "other"),
    [("Tide", "Undertow"), ("夜桜", "夜明け"), ("Song 2", "Song")],
)
def test_plain_names_keep_different_songs_apart(conn, one, other):
    one_plain, other_plain = conn.execute(
        "SELECT koito_import.plain_name(%s), koito_import.plain_name(%s)", (one, other)
    ).fetchone()
    assert one_plain != other_plain


def test_a_name_that_is_only_decoration_keeps_itself(conn):
    assert conn.execute("SELECT koito_import.plain_name('(Untitled)')").fetchone()[0] == (
        "(untitled)"
    )


def test_which_formats_may_need_provenance_rows():
    # fixed clients that say their source, no play lengths: never
    assert not conventions.may_need_provenance("lastfm_json")
    assert not conventions.may_need_provenance("maloja")
    # play lengths (Spotify), other clients (ListenBrainz, Koito): yes
    assert conventions.may_need_provenance("spotify_extended")
    assert conventions.may_need_provenance("listenbrainz_zip")
    assert conventions.may_need_provenance("koito")
