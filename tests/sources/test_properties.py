"""Random and mutated input to every reader: valid records come back, or ExportError, no more."""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koito_assets.sources import ExportError, Scrobble, Skipped, SkipReason, open_export
from koito_assets.sources.fields import MAX_DURATION_S, MAX_UNIX

from .helpers import FIXTURES, zip_listenbrainz
from .helpers import settings as import_settings

FIXTURE_FILES = sorted(path.name for path in FIXTURES.iterdir() if path.is_file())
MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RULES = st.sampled_from(["trackdone", "30s", "listenbrainz"])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\x00", "•", "\ud83d", " "]))
    | st.sampled_from(
        ["Main • Feature", "00000000-0000-0000-0000-000000000000", "2024-03-02T18:04:11Z"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def check_text(value: str) -> None:
    assert isinstance(value, str) and "\x00" not in value
    value.encode("utf-8")  # no lone surrogates: PostgreSQL could not store them


def check_record(record: Scrobble | Skipped) -> None:
    """What every consumer may rely on, whatever the input was."""
    if isinstance(record, Skipped):
        assert isinstance(record.reason, SkipReason) and isinstance(record.detail, str)
        return
    assert isinstance(record, Scrobble)
    assert isinstance(record.listened_at, int) and 0 <= record.listened_at <= MAX_UNIX
    for text in (record.artist, record.track):
        check_text(text)
        assert text.strip()
    for text in (record.album, record.client, *record.artist_names):
        check_text(text)
    for mbid in (
        *record.artist_mbids,
        record.recording_mbid,
        record.release_mbid,
        record.release_group_mbid,
    ):
        assert mbid is None or MBID.fullmatch(mbid)
    for name, mbid in record.artist_mbid_mappings:
        check_text(name)
        assert MBID.fullmatch(mbid)
    assert isinstance(record.duration_s, int) and 0 <= record.duration_s <= MAX_DURATION_S


def read_or_export_error(path: Path, rule: str = "trackdone") -> list[Scrobble | Skipped] | None:
    try:
        export = open_export(path, import_settings(spotify_play_rule=rule))
        records = list(export)
    except ExportError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(path.name)
        return None
    for record in records:
        check_record(record)
    positions = [record.position for record in records]
    assert len(set(positions)) == len(positions)
    assert export.stats.records == len(records)
    return records


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("properties")


@pytest.fixture(scope="module")
def zips(scratch) -> dict[str, bytes]:
    """The zip exports by the name they are tried under: ListenBrainz's and Spotify's download."""
    spotify = scratch / "spotify.zip"
    with zipfile.ZipFile(spotify, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder, name in (
            ("Spotify Extended Streaming History", "Streaming_History_Audio_2023-2024_0.json"),
            ("MyData", "endsong_0.json"),
            ("Spotify Account Data", "StreamingHistory_music_0.json"),
        ):
            archive.write(FIXTURES / name, f"{folder}/{name}")
    return {
        "listenbrainz_example.zip": zip_listenbrainz(scratch).read_bytes(),
        "my_spotify_data.zip": spotify.read_bytes(),
    }


def mutate(data: bytes, draw) -> bytes:
    """Flip, insert, delete or truncate a few bytes somewhere."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(FIXTURE_FILES), data=st.data(), rule=RULES)
def test_mutated_fixtures(scratch, name, data, rule):
    path = scratch / name
    path.write_bytes(mutate((FIXTURES / name).read_bytes(), data.draw))
    read_or_export_error(path, rule)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(["listenbrainz_example.zip", "my_spotify_data.zip"]), data=st.data())
def test_mutated_zips(scratch, zips, name, data):
    path = scratch / name
    path.write_bytes(mutate(zips[name], data.draw))
    read_or_export_error(path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(
        [
            "maloja_x.json",
            "Streaming_History_Audio_1.json",
            "recenttracks-x.csv",
            "listenbrainz_x.zip",
            "koito.json",
            "x.bin",
        ]
    ),
    content=st.binary(max_size=300) | st.builds(lambda text: text.encode(), st.text(max_size=200)),
)
def test_random_bytes(scratch, name, content):
    path = scratch / name
    path.write_bytes(content)
    read_or_export_error(path)


# Each JSON format: a real record with one field (at any depth) replaced by a random JSON value.
SHAPES = {
    "maloja_export_2024_03_02_18_00_00.json": lambda records: {"scrobbles": records},
    "maloja_api_scrobbles.json": lambda records: {"list": records},
    "Streaming_History_Audio_2023-2024_0.json": lambda records: records,
    "StreamingHistory_music_0.json": lambda records: records,
    "recenttracks-example-1709402230.json": lambda records: [{"track": records}],
    "example_lb-2024-03-02.json": lambda records: records,
    "koito_export_2025-06-18.json": lambda records: {"version": "1", "listens": records},
}


def first_records(name: str) -> list:
    document = json.loads((FIXTURES / name).read_text())
    if isinstance(document, dict):
        return document.get("scrobbles") or document.get("list") or document["listens"]
    return document[0]["track"] if "track" in document[0] else document


def replace_somewhere(value, draw):
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        value[key] = replace_somewhere(value[key], draw)
        return value
    if isinstance(value, list) and value and draw(st.booleans()):
        at = draw(st.integers(0, len(value) - 1))
        value[at] = replace_somewhere(value[at], draw)
        return value
    return draw(json_values)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(sorted(SHAPES)), data=st.data(), rule=RULES)
def test_records_of_any_shape_are_read_or_skipped_never_fatal(scratch, name, data, rule):
    first, *rest = copy.deepcopy(first_records(name))
    for _ in range(data.draw(st.integers(1, 3))):
        rest = replace_somewhere(rest, data.draw)
    # The first record stays real so detection recognises the file; every other may be anything.
    records = [first, *(rest if isinstance(rest, list) else [rest])]
    path = scratch / name
    path.write_text(json.dumps(SHAPES[name](records), allow_nan=True))
    read = read_or_export_error(path, rule)
    assert read is not None, "a valid container must never fail as a whole"
    assert len(read) == len(records)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(json_values.map(json.dumps) | st.text(max_size=40), max_size=6))
def test_listenbrainz_lines_of_any_shape(scratch, lines):
    member = "\n".join(lines).encode("utf-8", "surrogatepass")
    path = zip_listenbrainz(scratch, extra_members={"listens/2025/1.jsonl": member})
    read = read_or_export_error(path)
    assert read is not None
