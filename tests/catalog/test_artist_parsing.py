"""Koito's artist-string parsing, base artist first.

Koito's parsing: docs/koito-reference.md §2.3; base artist first: docs/design.md §5.1.
"""

from __future__ import annotations

import pytest

from koito_assets.catalog.artist_parsing import base_first, equal_fold, parse_artists, parsed_names
from koito_assets.settings import DEFAULT_ARTIST_SEPARATORS

CASES = [
    # (artist string, title, expected names in order)
    ("Radiohead", "Creep", ["Radiohead"]),
    # docs/design.md §5.1: base artist first, then the featured one (Koito: the other way round)
    ("Carly Rae Jepsen feat. Rufus Wainwright", "Song", ["Carly Rae Jepsen", "Rufus Wainwright"]),
    ("Artist (feat. Guest)", "Song", ["Artist", "Guest"]),
    ("Artist [feat. Guest]", "Song", ["Artist", "Guest"]),
    ("Artist FEAT. Guest", "Song", ["Artist", "Guest"]),  # case-insensitive
    ("Artist (Feat. Guest)", "Song", ["Artist", "Guest"]),
    # feature lists split on , & and ·
    ("Artist feat. A, B & C", "Song", ["Artist", "A", "B", "C"]),
    ("Artist (feat. A · B)", "Song", ["Artist", "A", "B"]),
    # "and" has no word boundaries in Koito: Brandon → "Br" + "on"
    ("Artist feat. Brandon Flowers", "Song", ["Artist", "Br", "on Flowers"]),
    ("Artist feat. Andrew", "Song", ["Artist", "rew"]),  # a leading "And" leaves an empty name
    ("Artist feat. X AND Y", "Song", ["Artist", "X", "Y"]),
    # delimiters only inside feature lists: the base string stays whole
    ("Simon & Garfunkel", "The Boxer", ["Simon & Garfunkel"]),
    ("Earth, Wind & Fire", "September", ["Earth, Wind & Fire"]),
    ("Brandon Flowers", "Crossfire", ["Brandon Flowers"]),
    # not features in Koito
    ("Artist ft. Guest", "Song", ["Artist ft. Guest"]),
    ("Artist featuring Guest", "Song", ["Artist featuring Guest"]),
    ("Artist with Guest", "Song", ["Artist with Guest"]),
    ("Artist x Guest", "Song", ["Artist x Guest"]),
    ("Artist / Guest", "Song", ["Artist / Guest"]),
    # the default separator, with whitespace around the dot
    ("Artist A · Artist B", "Song", ["Artist A", "Artist B"]),
    ("Artist A·Artist B", "Song", ["Artist A·Artist B"]),
    # inline feature must run to the end with no brackets in it
    ("Artist feat. Guest (Live)", "Song", ["Artist feat. Guest (Live)"]),
    # title features come last; the title itself is never changed
    ("Artist", "Song (feat. Guest)", ["Artist", "Guest"]),
    ("Artist", "Song [feat. Guest]", ["Artist", "Guest"]),
    ("Artist", "Song feat. Guest", ["Artist", "Guest"]),
    ("Artist feat. A", "Song (feat. B)", ["Artist", "A", "B"]),
    # exact duplicates once; case variants are different names
    ("Artist feat. Artist", "Song", ["Artist"]),
    ("Artist feat. Guest", "Song (feat. Guest)", ["Artist", "Guest"]),
    ("Artist feat. artist", "Song", ["Artist", "artist"]),
    # bracketed and inline in one string: brackets first, then the inline rest
    ("A (feat. B) feat. C", "Song", ["A", "B", "C"]),
    # only the first bracketed match of each kind counts
    ("A (feat. B) (feat. C)", "Song", ["A  (feat. C)", "B"]),
    # whitespace around names is trimmed, empty names dropped
    ("  Artist  ", "Song", ["Artist"]),
    ("Artist feat. , B", "Song", ["Artist", "B"]),
    # a base that equals a feature is still the base
    ("A · B feat. B", "Song", ["A", "B"]),
    ("(feat. X)", "Song", ["X"]),
    ("", "Song", []),
    # Koito's patterns need exactly one space after "feat." (common in K-pop and J-pop tags)
    ("IU (feat.SUGA)", "Song", ["IU (feat.SUGA)"]),
    ("Artist feat.Guest", "Song", ["Artist feat.Guest"]),
    ("Artist", "Song (feat.Guest)", ["Artist"]),
    ("Artist (feat.\tGuest)", "Song", ["Artist (feat.\tGuest)"]),
    ("Artist (feat.  Guest)", "Song", ["Artist", "Guest"]),  # the second space is trimmed
    # the title is never shortened: its inline pattern sees the whole title, which ends in ")"
    ("Artist", "Song feat. A (feat. B)", ["Artist", "B"]),
    # the artist string is shortened first, so there the inline pattern then matches too
    ("Artist feat. A (feat. B)", "Song", ["Artist", "B", "A"]),
]


@pytest.mark.parametrize(("artist", "title", "expected"), CASES)
def test_parse_artists(artist: str, title: str, expected: list[str]) -> None:
    assert parse_artists(artist, title, DEFAULT_ARTIST_SEPARATORS) == expected


SEPARATOR_CASES = [
    # each separator splits the whole remaining string on its own (not recursively)
    ((r"\s*;\s*",), "A; B; C", ["A", "B", "C"]),
    ((r"\s*;\s*", r"\s*/\s*"), "A; B / C", ["A", "B / C", "A; B", "C"]),
    # a separator that does not match leaves the string whole
    ((r"\s*;\s*",), "A · B", ["A · B"]),
    # separators apply after features are removed
    ((r"\s*;\s*",), "A; B feat. C", ["A", "B", "C"]),
    # pieces that are all features already: Koito then adds the whole remaining string
    ((r"\s*;\s*",), "X (feat. X)", ["X"]),
    # a capturing group in a user's regex does not leak into the names (Go's Split has none)
    ((r"\s*(;)\s*",), "A; B", ["A", "B"]),
    # RE2's \s is ASCII: Koito's default separator does not split at no-break spaces
    ((r"\s+·\s+",), "A\u00a0·\u00a0B", ["A\u00a0·\u00a0B"]),
    ((r"\s+·\s+",), "A · B", ["A", "B"]),
]


@pytest.mark.parametrize(("separators", "artist", "expected"), SEPARATOR_CASES)
def test_configured_separators(
    separators: tuple[str, ...], artist: str, expected: list[str]
) -> None:
    assert parse_artists(artist, "Song", separators) == expected


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("Radiohead", "radiohead", True),
        ("RADIOHEAD", "radiohead", True),
        ("Björk", "BJÖRK", True),
        ("Σίσυφος", "ΣΊΣΥΦΟΣ", True),  # final sigma folds with capital sigma
        ("straße", "STRASSE", False),  # simple folding: ß is not SS (Go's EqualFold agrees)
        ("Radiohead", "Radiohead ", False),
        ("", "", True),
    ],
)
def test_equal_fold_is_simple_case_folding(a: str, b: str, equal: bool) -> None:
    assert equal_fold(a, b) is equal


@pytest.mark.parametrize(
    ("artist", "title", "koito_order"),
    [
        # Koito's own order, which matching follows (docs/koito-reference.md §2.3): features first
        (
            "Carly Rae Jepsen feat. Rufus Wainwright",
            "Song",
            ["Rufus Wainwright", "Carly Rae Jepsen"],
        ),
        ("A (feat. B) feat. C", "Song (feat. D)", ["B", "C", "A", "D"]),
        ("A · B feat. B", "Song", ["B", "A"]),
        ("Radiohead", "Creep", ["Radiohead"]),
    ],
)
def test_parsed_names_are_in_koitos_order_and_rank_base_first(artist, title, koito_order) -> None:
    parsed = parsed_names(artist, title, DEFAULT_ARTIST_SEPARATORS)
    assert [name for name, _ in parsed] == koito_order
    ranked = [parsed[at][0] for at in base_first([rank for _, rank in parsed])]
    assert ranked == parse_artists(artist, title, DEFAULT_ARTIST_SEPARATORS)
