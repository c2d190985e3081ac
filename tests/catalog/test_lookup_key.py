"""The lookup key holds every input that can change a resolution (docs/design.md §5.2)."""

from __future__ import annotations

import pytest

from koito_assets.catalog.lookup_key import HASH_PREFIX, MAX_PLAIN_LENGTH, lookup_key, lookup_mbids
from koito_assets.sources.record import KoitoAlias, KoitoEntity, KoitoListen, Scrobble
from tests.catalog.helpers import entity, koito_scrobble, scrobble

M1 = "0a1b2c3d-0000-4000-8000-000000000001"
M2 = "0a1b2c3d-0000-4000-8000-000000000002"


def test_plain_key_is_readable_and_exact() -> None:
    assert (
        lookup_key(scrobble("Radiohead", "Creep", "Pablo Honey"))
        == "s\x1fRadiohead\x1fCreep\x1fPablo Honey"
    )


def test_listen_details_do_not_change_the_key() -> None:
    a = Scrobble(
        1, "Radiohead", "Creep", "Pablo Honey", duration_s=238, client="x", position="record 1"
    )
    b = Scrobble(2, "Radiohead", "Creep", "Pablo Honey")
    assert lookup_key(a) == lookup_key(b)


VARIANTS = [
    scrobble("Radiohead", "Creep", "Pablo Honey"),
    scrobble(
        "radiohead", "Creep", "Pablo Honey"
    ),  # case: Koito keeps these apart (PR #234 did not)
    scrobble("Radiohead ", "Creep", "Pablo Honey"),
    scrobble("Radiohead", "creep", "Pablo Honey"),
    scrobble("Radiohead", "Creep", "pablo honey"),
    scrobble("Radiohead", "Creep", ""),
    scrobble("Radiohead", "Creep", "Pablo Honey", artist_names=("Radiohead",)),
    scrobble("Radiohead", "Creep", "Pablo Honey", artist_mbids=(M1,)),
    scrobble("Radiohead", "Creep", "Pablo Honey", artist_mbids=(M2,)),
    scrobble("Radiohead", "Creep", "Pablo Honey", artist_mbid_mappings=(("Radiohead", M1),)),
    scrobble("Radiohead", "Creep", "Pablo Honey", recording_mbid=M1),
    scrobble("Radiohead", "Creep", "Pablo Honey", release_mbid=M1),
    scrobble("Radiohead", "Creep", "Pablo Honey", release_group_mbid=M1),
    # field boundaries are not ambiguous
    scrobble("Radiohead\x1fCreep", "", "Pablo Honey"),
    scrobble("Radiohead", "Creep\x1fPablo Honey", ""),
    scrobble("A", "B", "", artist_names=("x\x1ey",)),
    scrobble("A", "B", "", artist_names=("x", "y")),
    koito_scrobble([entity("Radiohead")], entity("Pablo Honey"), entity("Creep")),
    koito_scrobble([entity("Radiohead", M1)], entity("Pablo Honey"), entity("Creep")),
]


def test_every_resolution_input_gives_a_different_key() -> None:
    keys = [lookup_key(r) for r in VARIANTS]
    assert len(set(keys)) == len(keys)


def test_keys_never_hold_nul_and_long_ones_are_hashed() -> None:
    nul = lookup_key(scrobble("A\x00", "B"))
    long = lookup_key(scrobble("A" * 500, "B"))
    assert "\x00" not in nul and nul.startswith(HASH_PREFIX)
    assert long.startswith(HASH_PREFIX) and len(long) == len(HASH_PREFIX) + 64
    assert lookup_key(scrobble("A" * 500, "B")) == long  # deterministic
    assert lookup_key(scrobble("A" * 500, "C")) != long
    for record in VARIANTS:
        key = lookup_key(record)
        assert "\x00" not in key and len(key) <= MAX_PLAIN_LENGTH


def test_ambiguous_text_is_hashed_not_joined() -> None:
    assert lookup_key(scrobble("Radiohead\x1fCreep", "", "x")).startswith(HASH_PREFIX)
    assert lookup_key(scrobble("A", "B", artist_names=("x\x1ey",))).startswith(HASH_PREFIX)


def test_koito_key_uses_what_the_koito_importer_matches_on() -> None:
    base = koito_scrobble([entity("A"), entity("B")], entity("Album"), entity("Song"))
    # other aliases, images, duration and the listen do not change what the importer finds
    same = Scrobble(
        5,
        "ignored",
        "ignored",
        "ignored",
        client="c",
        koito=KoitoListen(
            KoitoEntity(
                None,
                (KoitoAlias("Song", "Canonical", True), KoitoAlias("S", "Import", False)),
                duration_s=9,
            ),
            KoitoEntity(None, (KoitoAlias("Album", "Canonical", True),), image_url="http://x"),
            (entity("A"), entity("B")),
        ),
    )
    assert lookup_key(base) == lookup_key(same)
    swapped = koito_scrobble([entity("B"), entity("A")], entity("Album"), entity("Song"))
    assert lookup_key(swapped) != lookup_key(base)  # order decides the primary artist
    assert lookup_key(base) != lookup_key(scrobble("A", "Song", "Album"))


@pytest.mark.parametrize(
    ("record", "mbids"),
    [
        (scrobble("A", "B"), []),
        (
            scrobble(
                "A",
                "B",
                artist_mbids=(M2,),
                artist_mbid_mappings=(("A", M1),),
                recording_mbid=M1,
                release_mbid=M2,
                release_group_mbid="0a1b2c3d-0000-4000-8000-000000000009",
            ),
            [M1, M2],
        ),
        (koito_scrobble([entity("A", M2)], entity("X"), entity("Y", M1)), [M1, M2]),
    ],
)
def test_lookup_mbids_are_the_mbids_a_resolution_looks_up(
    record: Scrobble, mbids: list[str]
) -> None:
    assert lookup_mbids(record) == mbids
