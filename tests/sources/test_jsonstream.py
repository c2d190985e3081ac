"""The chunked JSON cursor: same values as json.loads at any chunk size, exact places for errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from koito_assets.sources import jsonstream
from koito_assets.sources.errors import ExportError
from koito_assets.sources.jsonstream import JsonStream

PATH = Path("export.json")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def stream(data: bytes, **options: int) -> JsonStream:
    return JsonStream(io.BytesIO(data), PATH, **options)


def items_of(data: bytes, **options: int) -> list[object]:
    cursor = stream(data, **options)
    values = list(cursor.items())
    cursor.end()
    return values


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(json_values, max_size=8),
    indent=st.sampled_from([None, 0, 3]),
    ensure_ascii=st.booleans(),
    chunk_bytes=st.integers(1, 40),
    lookahead_chars=st.integers(0, 30),
)
def test_items_equal_json_loads_at_any_chunk_size(
    values, indent, ensure_ascii, chunk_bytes, lookahead_chars
):
    data = json.dumps(values, indent=indent, ensure_ascii=ensure_ascii).encode()
    assert items_of(data, chunk_bytes=chunk_bytes, lookahead_chars=lookahead_chars) == json.loads(
        data
    )


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(json_values, min_size=1, max_size=6),
    cut=st.data(),
    chunk_bytes=st.integers(1, 40),
)
def test_truncated_documents_fail_with_our_error_after_the_whole_values(values, cut, chunk_bytes):
    data = json.dumps(values).encode()
    prefix = data[: cut.draw(st.integers(0, len(data) - 1))]
    cursor = stream(prefix, chunk_bytes=chunk_bytes, lookahead_chars=0)
    seen = []
    with pytest.raises(ExportError) as caught:
        for value in cursor.items():
            seen.append(value)
        cursor.end()
    assert seen == values[: len(seen)]
    assert caught.value.where.startswith("byte ")
    assert int(caught.value.where.split()[1]) <= len(prefix)


def test_objects_walk_key_by_key():
    cursor = stream(b'{"maloja": {"export_time": 1}, "scrobbles": [1, 2], "tail": null}')
    seen = {}
    for key in cursor.members():
        seen[key] = list(cursor.items()) if key == "scrobbles" else cursor.value()
    cursor.end()
    assert seen == {"maloja": {"export_time": 1}, "scrobbles": [1, 2], "tail": None}


def test_error_offsets_count_bytes_not_characters():
    data = '[{"a": "ééé"}, {"b": ]'.encode()
    with pytest.raises(ExportError) as caught:
        items_of(data, chunk_bytes=4, lookahead_chars=0)
    assert caught.value.where == f"byte {data.index(b']')}"
    assert (
        str(caught.value) == f"export.json: byte {data.index(b']')}: invalid JSON (Expecting value)"
    )


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(json_values, min_size=1, max_size=6),
    bom=st.booleans(),
    indent=st.sampled_from([None, 2]),
    chunk_bytes=st.integers(1, 40),
    lookahead_chars=st.integers(0, 30),
)
def test_error_offsets_are_exact_bytes_across_windows(
    values, bom, indent, chunk_bytes, lookahead_chars
):
    """A stray "]" after the last element is reported at its byte, whatever came before it
    (multi-byte text, a byte-order mark) and however the file was cut into windows."""
    body = json.dumps(values, indent=indent, ensure_ascii=False).encode()
    data = (b"\xef\xbb\xbf" if bom else b"") + body[:-1].rstrip() + b", ]"
    with pytest.raises(ExportError) as caught:
        items_of(data, chunk_bytes=chunk_bytes, lookahead_chars=lookahead_chars)
    assert caught.value.where == f"byte {len(data) - 1}"


@pytest.mark.parametrize("chunk_bytes", range(17, 48))
def test_error_offsets_count_a_character_split_between_reads(chunk_bytes):
    """An error found mid-file, in a window whose first read finished a character the read
    before had cut."""
    for stray in ("é", "€", "😀"):  # the error is a character of two, three or four bytes
        data = f'["é€😀", "üü€€", "😀😀", {stray}{" " * 64}]'.encode()
        with pytest.raises(ExportError) as caught:
            items_of(data, chunk_bytes=chunk_bytes, lookahead_chars=0)
        assert caught.value.where == f"byte {data.rindex(stray.encode())}"


def test_truncated_document_names_the_end():
    data = b'[{"a": 1}, {"b": 2'
    with pytest.raises(ExportError, match=f"^export.json: byte {len(data)}: truncated JSON"):
        items_of(data)


def test_invalid_utf8_is_a_container_error_with_its_offset():
    data = b'[{"a": "ok"}, {"b": "\xff"}]'
    offset = data.index(b"\xff")
    with pytest.raises(ExportError, match=f"byte {offset}: not UTF-8 text"):
        items_of(data, chunk_bytes=5)


def test_deep_nesting_fails_fast_without_memory():
    with pytest.raises(ExportError, match="nested more than 200 levels deep"):
        items_of(b"[" * 200_000 + b"]" * 200_000)


def test_one_value_over_the_cap_is_refused():
    data = json.dumps(["x" * 5000]).encode()
    with pytest.raises(ExportError, match="larger than"):
        items_of(data, chunk_bytes=100, max_value_chars=1000)


def test_data_after_the_document_is_refused():
    with pytest.raises(ExportError, match="unexpected data after the JSON document"):
        items_of(b"[1, 2] [3]")


def test_lone_surrogate_escapes_pass_through_for_the_text_check():
    assert items_of(b'["\\ud83d", "\\ud83d\\ude00"]') == ["\ud83d", "\U0001f600"]


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(text for item in value.values() for text in strings_in(item))]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        json_values | st.sampled_from(["a\x00b", "\ud83d", "ok \U0001f600"]), max_size=8
    ),
    chunk_bytes=st.integers(1, 40),
    lookahead_chars=st.integers(0, 30),
)
def test_escapes_flag_is_up_whenever_a_value_may_hold_nul_or_a_surrogate(
    values, chunk_bytes, lookahead_chars
):
    data = json.dumps(values).encode("utf-8", "surrogatepass")
    cursor = stream(data, chunk_bytes=chunk_bytes, lookahead_chars=lookahead_chars)
    for value in cursor.items():
        texts = strings_in(value)
        if any(
            "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text) for text in texts
        ):
            assert cursor.escapes


records = st.lists(
    st.dictionaries(
        st.sampled_from(["ts", "track", "a"]),
        json_values | st.sampled_from(['},{"ts"', '},\n  {\n    "ts"', "\ud83d", "a\x00b"]),
        min_size=1,
        max_size=4,
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    values=records,
    indent=st.sampled_from([None, 0, 2, 3]),
    ensure_ascii=st.booleans(),
    chunk_bytes=st.sampled_from([7, 64, 1000, 1 << 20]),
)
def test_batched_elements_equal_json_loads_even_with_joints_inside_strings(
    values, indent, ensure_ascii, chunk_bytes
):
    text = json.dumps(values, indent=indent, ensure_ascii=ensure_ascii)
    assume(ensure_ascii or not any("\ud800" <= char <= "\udfff" for char in text))  # raw: not UTF-8
    data = text.encode()
    assert items_of(data, chunk_bytes=chunk_bytes) == json.loads(data)


def test_batches_decode_most_elements_of_a_regular_file(monkeypatch):
    values = [
        {"ts": f"2024-03-02T18:04:{n % 60:02}Z", "track": {"name": f"Song {n}"}}
        for n in range(5000)
    ]
    data = json.dumps(values, indent=2).encode()
    calls = []
    real = jsonstream.from_json
    monkeypatch.setattr(jsonstream, "from_json", lambda text: calls.append(text) or real(text))
    assert items_of(data) == values
    batched = sum(len(json.loads(text)) for text in calls)
    assert batched > 4900  # the first elements and the window's edges go one by one


def test_surrogate_pairs_leave_the_escapes_flag_down_lone_surrogates_and_nul_raise_it():
    # ASCII-escaped exports (Maloja's json.dump) spell every emoji as a pair: those decode to one
    # valid character, so the text check may be skipped; a lone half or a NUL must not be.
    assert not stream(b'["\\ud83c\\udfb5 \\u00e9", "\\uD83D\\uDE00"]').escapes
    for lone in (b'["\\ud83c"]', b'["\\udfb5"]', b'["\\udfb5\\ud83c"]', b'["a\\u0000"]'):
        assert stream(lone).escapes, lone


def test_hangul_escapes_are_not_surrogates():
    # U+D558 "하" is spelled \ud558 by an ASCII-escaping exporter: an ordinary character.
    assert not stream(b'["\\ud558\\ub9c8", "\\ud7a3"]').escapes
