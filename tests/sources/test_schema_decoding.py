"""Schema decoding (msgspec keeps only the keys a normaliser reads) changes speed, never results.

For random records, mostly valid and sometimes anything at all, the normaliser gives the same
record (or the same kind of failure) on the schema-decoded value as on the fully parsed one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic_core import from_json

from koito_assets.sources import koito_export, listenbrainz, maloja
from koito_assets.sources.context import ExportStats, ReadContext

from .helpers import settings


def assert_judged_alike(
    tmp_path,
    text: bytes,
    schema_decode: Callable[[Any], Any],
    full_decode: Callable[[Any], Any],
    normalise,
    *,
    copied: bool = True,
) -> None:
    ctx = ReadContext(tmp_path / "export", settings(), ExportStats())
    ctx.clean_text = "\\u0000" not in (
        text if isinstance(text, str) else text.decode(errors="replace")
    )

    def judged(decoded):
        try:
            return normalise(copy.deepcopy(decoded) if copied else decoded, "p", ctx)
        except Exception as exc:  # noqa: BLE001 - the kind of failure must match too
            return type(exc)

    full = full_decode(text)
    try:
        schema = schema_decode(text)
    except (ValueError, RecursionError):
        return  # the reader decodes such text in full: nothing to compare
    if isinstance(full, list):
        assert [judged(item) for item in schema] == [judged(item) for item in full]
    else:
        assert judged(schema) == judged(full)


text = st.text(max_size=8) | st.sampled_from(
    ["", " ", "A\x00B", "Ünïcode", "d1f6e2b3-3b6a-4b5e-8a3c-3a9b7f0c2e01"]
)
leaf = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | text
mbid = st.sampled_from(
    [
        "d1f6e2b3-3b6a-4b5e-8a3c-3a9b7f0c2e01",
        "D1F6E2B33B6A4B5E8A3C3A9B7F0C2E01",
        "00000000-0000-0000-0000-000000000000",
        "x",
    ]
)
anything = st.recursive(
    leaf | mbid,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def mostly(usual, odd=anything):
    """``usual`` four times in five, else ``odd`` (one_of would merge repeated branches)."""
    return st.integers(0, 4).flatmap(lambda pick: usual if pick else odd)


credit = st.fixed_dictionaries(
    {}, optional={"artist_credit_name": mostly(text), "artist_mbid": mostly(mbid)}
)
info = st.fixed_dictionaries(
    {},
    optional={
        key: value
        for key, value in {
            "artist_names": mostly(st.lists(text | anything, max_size=3)),
            "artist_mbids": mostly(st.lists(mbid, max_size=3)),
            "recording_mbid": mostly(mbid),
            "release_mbid": mostly(mbid),
            "release_group_mbid": mostly(mbid),
            "duration": mostly(st.integers(-5, 2**40)),
            "duration_ms": mostly(st.integers(-5, 2**45)),
            "media_player": mostly(text),
            "submission_client": mostly(text),
            "origin_url": text,
        }.items()
    },
)
mapping = st.fixed_dictionaries(
    {},
    optional={
        "recording_mbid": mostly(mbid),
        "release_mbid": mostly(mbid),
        "artist_mbids": mostly(st.lists(mbid, max_size=2)),
        "artists": mostly(st.lists(mostly(credit), max_size=3)),
        "caa_id": st.integers(),
    },
)
# Mostly listens that are accepted (so every optional field counts), sometimes anything at all.
name = mostly(st.sampled_from(["Artist", "Ünïcode Band", "Nul\x00Band"]), text | anything)
meta = st.fixed_dictionaries(
    {
        "artist_name": name,
        "track_name": name,
        "additional_info": mostly(info),
        "mbid_mapping": mostly(mapping),
    },
    optional={"release_name": text | anything, "recording_msid": text},
)
listen = st.fixed_dictionaries(
    {"listened_at": mostly(st.integers(0, 2_000_000_000)), "track_metadata": mostly(meta)},
    optional={"user_name": text},
)


@hypothesis_settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=listen)
def test_listenbrainz_lines(tmp_path, value):
    line = json.dumps(value).encode()
    assert_judged_alike(
        tmp_path, line, listenbrainz._decode_listen, from_json, listenbrainz.normalise
    )


album = st.fixed_dictionaries(
    {}, optional={"albumtitle": mostly(text), "artists": st.lists(text, max_size=2)}
)
track = st.fixed_dictionaries(
    {
        "artists": mostly(st.lists(mostly(st.sampled_from(["A", "A • B", "b", " "])), max_size=3)),
        "title": name,
    },
    optional={"album": mostly(album | st.none()), "length": mostly(st.integers(0, 600))},
)
scrobble = st.fixed_dictionaries(
    {"time": mostly(st.integers(0, 2_000_000_000)), "track": mostly(track)},
    optional={"duration": st.integers(0, 600), "origin": text},
)


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(scrobble, min_size=1, max_size=4))
def test_maloja_stretches(tmp_path, values):
    stretch = json.dumps(values, indent=3, ensure_ascii=False)
    assert_judged_alike(tmp_path, stretch, maloja._decode_scrobbles, from_json, maloja.normalise)


def seldom(usual, odd=anything):
    """``usual`` nine times in ten, else ``odd``: a Koito listen has many parts, and each odd
    one skips it, so ``mostly`` everywhere would leave few listens accepted to compare."""
    return st.integers(0, 9).flatmap(lambda pick: usual if pick else odd)


alias = st.fixed_dictionaries(
    {
        "alias": seldom(st.sampled_from(["Artist", "Ünïcode Band", "Nul\x00Band", " "])),
        "is_primary": seldom(st.just(True), st.booleans()),
    },
    optional={"source": seldom(st.sampled_from(["Canonical", "MusicBrainz"]))},
)
entity = st.fixed_dictionaries(
    {"aliases": seldom(st.lists(seldom(alias), min_size=1, max_size=2))},
    optional={
        "mbid": seldom(mbid | st.none()),
        "image_url": seldom(st.sampled_from(["", "https://example.org/a.jpg"])),
        "various_artists": seldom(st.booleans()),
        "duration": seldom(st.integers(0, 2**40)),
    },
)
koito_listen = st.fixed_dictionaries(
    {
        "listened_at": seldom(st.sampled_from(["2024-03-02T18:00:00Z", "2024-03-02T18:00:00.5Z"])),
        "track": seldom(entity, st.none() | anything),
        "album": seldom(entity, st.none() | anything),
        "artists": seldom(st.lists(seldom(entity), min_size=1, max_size=2), st.none() | anything),
    },
    optional={"client": seldom(text)},
)


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(koito_listen, min_size=1, max_size=4))
def test_koito_export_stretches(tmp_path, values):
    stretch = json.dumps(values + values, indent=2, ensure_ascii=False)
    known = koito_export._KnownEntities()
    # The first decoding meets every entity's text anew and remembers what its normalising
    # gave; the second meets those entities known. Both must read as the full decoding does
    # (not copied: the normaliser changes nothing it is given, and copies would not be known).
    for _ in range(2):
        assert_judged_alike(
            tmp_path, stretch, known.decode, from_json, koito_export.normalise, copied=False
        )
