"""One JSON document read from a binary file through a bounded text window, a value at a time.

Memory is one window (1 MiB) plus the largest single value (capped at 64 MiB), whatever the file
size. Arrays of records, the bulk of every export, are decoded a stretch of ~64 KiB at a time by
pydantic-core's ``from_json`` (Rust; installed with Dagster, through pydantic), about twice as fast
as element by element; everything else, and any stretch that will not parse, goes through the
standard library's C scanner, whose errors give exact byte offsets for a truncated or corrupt file.

We do not use ijson: its C backend keeps a path string per nesting level, so memory grows with
the square of the depth (a 100 KB file of nested brackets took 24 GB on this machine and was
killed), and it decodes these records no faster than the C scanner.

Nesting: parse and import must give one answer for a file, although a Dagster run calls the
readers from deeper in the stack than the command line. pydantic-core stops at a fixed depth
(NESTING_LIMIT levels below the value), and the standard library's scanner is held to the same
limit (pydantic-core checks what it decoded, when it holds enough brackets). msgspec, used by
schema decoders that skip the keys a format does not read, recurses on the caller's stack: when
it runs out there, it is run again on a fresh thread's stack, so how deep it reaches does not
depend on who called it.
"""

from __future__ import annotations

import codecs
import json
import re
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from json import scanner
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from pydantic_core import from_json

from koito_assets.sources.errors import ExportError

CHUNK_BYTES = 1 << 20
MAX_VALUE_CHARS = 64 << 20  # one record larger than this is not a listen; stop before memory goes
LOOKAHEAD_CHARS = 1 << 16  # decode with this much text ahead, so only big values need a retry
_NEAR_END = 16  # an error this close to the window's end may just be a value cut by the window
_BATCH_CHARS = 1 << 16  # elements decoded together: bigger batches lose to the garbage collector
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A NUL, a surrogate pair (how an ASCII-escaped export spells every emoji), or any other surrogate
# escape (U+D800–DFFF; U+D000–D7FF are Hangul syllables); pairs come first, so a pair is one
# match and its low half never matches alone.
_NUL_OR_SURROGATE_ESCAPE = re.compile(
    r"\\u(?:[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|0000|[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_PAIR_LENGTH = 12
_OBJECT_START = re.compile(r'\{[ \t\n\r]*"[^"\\]*"')  # "{" up to the end of its first key
_scan_once = scanner.make_scanner(json.JSONDecoder())
# pydantic-core refuses a value whose containers nest more than 201 deep: 200 levels below the
# value itself. Every decoder here is held to that one limit.
NESTING_LIMIT = 200
_NESTED_TOO_DEEPLY = f"JSON nested more than {NESTING_LIMIT} levels deep"
# Python refuses to turn more than 4,300 digits into an int; such a number is kept as a Decimal,
# which no field reader takes for a time or a count ("a 5,000-digit time" is unparsable).
_INT_DIGITS_LIMIT = 4300


def int_or_decimal(digits: str) -> int | Decimal:
    """A JSON integer: an int, or a Decimal past the digits Python turns into an int."""
    return int(digits) if len(digits) <= _INT_DIGITS_LIMIT else Decimal(digits)


_scan_long_numbers = scanner.py_make_scanner(json.JSONDecoder(parse_int=int_or_decimal))
_Result = TypeVar("_Result")


def on_fresh_stack(function: Callable[[Any], _Result], text: Any) -> _Result:
    """``function(text)`` on a new thread, whose stack is empty: for a decoder that recursed too
    deeply where it was called, so how deep it may go does not depend on the caller."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, function(text)))
        except BaseException as exc:  # handed to the caller's thread as it is
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="json-fresh-stack")
    thread.start()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def nested_too_deeply(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether the JSON value ``text[start:end]`` nests deeper than NESTING_LIMIT (pydantic-core
    says so, whatever else it thinks of the text); cheap when it has few brackets."""
    end = len(text) if end is None else end
    if text.count("[", start, end) + text.count("{", start, end) <= NESTING_LIMIT:
        return False
    try:
        from_json(text[start:end])
    except ValueError as exc:
        return "recursion limit exceeded" in str(exc)
    return False


def _scan(text: str, pos: int) -> tuple[Any, int]:
    """The value at ``pos`` and where it ends, by the C scanner; an integer too long for int()
    and a recursion too deep for the caller's stack are retried the slow way."""
    try:
        return _scan_once(text, pos)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer of more than 4,300 digits
        return on_fresh_stack(lambda whole: _scan_long_numbers(whole, pos), text)
    except RecursionError:
        return on_fresh_stack(lambda whole: _scan_once(whole, pos), text)


class JsonStream:
    """A cursor over one JSON document: walk objects and arrays, decode the values you want."""

    def __init__(
        self,
        file: BinaryIO,
        path: Path,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        max_value_chars: int = MAX_VALUE_CHARS,
        lookahead_chars: int = LOOKAHEAD_CHARS,
    ) -> None:
        self._file = file
        self._path = path
        self._chunk_bytes = chunk_bytes
        self._max_value_chars = max_value_chars
        self._lookahead = lookahead_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0
        self._text_start_byte = 0  # file offset of self._text[0]
        self._consumed_chars = 0  # characters before self._text[0]
        self._batch_blocked_until = 0  # no batch before this character: one failed there
        self._bytes_read = 0
        self._eof = False
        self.escapes = (
            False  # whether the window (or the one before) spells NUL or a lone surrogate
        )
        self._window_escapes = False
        self._fill()
        while not self._text and not self._eof:  # a first read too short for one character
            self._fill()
        if self._text.startswith("\ufeff"):  # a UTF-8 byte-order mark, as Windows tools write
            self._text = self._text[1:]
            self._text_start_byte = len(codecs.BOM_UTF8)

    # --- navigation -------------------------------------------------------------------------

    def peek(self) -> str:
        """The next character that is not whitespace, without consuming it; "" at the end."""
        while True:
            pos = _WHITESPACE.match(self._text, self._pos).end()
            self._pos = pos
            if pos < len(self._text):
                return self._text[pos]
            if self._eof:
                return ""
            self._fill()

    def members(self) -> Iterator[str]:
        """Walk the object starting here: yield each key; the caller consumes its value."""
        self._expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self._unexpected("a key")
            key = self._decode()
            self._expect(":")
            if self.peek() == "":
                raise self._unexpected("a value")
            yield key
            if not self._after_element("}"):
                return

    def elements(self) -> Iterator[str]:
        """Walk the array starting here: yield each element's first character; the caller
        consumes the element."""
        self._expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            first = self.peek()
            if first == "":
                raise self._unexpected("a value")
            yield first
            if not self._after_element("]"):
                return

    def items(self, decode_batch: Callable[[str], list[Any]] | None = None) -> Iterator[Any]:
        """Decode the elements of the array starting here, in order (the hot path).

        Once two elements show the text that joins them (say ``},\n  {"ts"``), the elements are
        decoded a stretch at a time: the text up to the last such joint in the next stretch goes
        to pydantic-core's ``from_json`` as one array, about twice as fast as element by element.
        The parse can only succeed when the cut falls between elements (anywhere else leaves a
        bracket or a string open), so the values are exactly the elements. A stretch that does
        not parse (a joint inside an element, a lone surrogate, corrupt data) is decoded element
        by element instead, with exact error positions. A format may pass a faster
        ``decode_batch`` (a schema decoder that keeps only the keys it reads); when that refuses
        a stretch, the stretch is decoded element by element in full, so results are the same.
        """
        decode_batch = decode_batch or from_json
        self._expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        joint = None
        while True:
            if joint is not None:
                batch = self._batch(joint, decode_batch)
                if batch:
                    yield from batch
                    continue
            value = self.value()
            text, end = self._text, self._pos
            # Find the delimiter before handing the value out, so a cut file never yields a
            # cut value ("[1" of "[10]").
            another = self._after_element("]")
            if joint is None and another and self._text is text:
                joint = _joint(text, end, self._pos)
            yield value
            if not another:
                return

    def value(self) -> Any:
        """Decode the value starting here (bounded by the value cap)."""
        if self.peek() == "":
            raise self._unexpected("a value")
        return self._decode()

    def end(self) -> None:
        """Require that nothing but whitespace follows the document."""
        if self.peek() != "":
            raise self._error(self._pos, "unexpected data after the JSON document")

    def byte_offset(self) -> int:
        """The file offset of the cursor, for messages."""
        return self._byte_at(self._pos)

    # --- internals ----------------------------------------------------------------------------

    def _after_element(self, closer: str) -> bool:
        """Consume the "," between elements (True: another follows) or the closer (False)."""
        following = self.peek()
        if following == ",":
            self._pos += 1
            return True
        if following == closer:
            self._pos += 1
            return False
        raise self._unexpected(f"',' or '{closer}'")

    def _batch(self, joint: str, decode_batch: Callable[[str], list[Any]]) -> list[Any] | None:
        """The whole elements before the last ``joint`` in the next stretch, or None."""
        text = self._text
        start = _WHITESPACE.match(text, self._pos).end()
        if self._consumed_chars + start < self._batch_blocked_until:
            return None
        cut = text.rfind(joint, start, start + _BATCH_CHARS)
        if cut <= start:
            return None
        stretch = "[" + text[start : cut + 1] + "]"
        try:
            try:
                values = decode_batch(stretch)
            except RecursionError:
                values = on_fresh_stack(decode_batch, stretch)
        except (ValueError, RecursionError):
            self._batch_blocked_until = self._consumed_chars + cut + 1
            return None
        self._pos = cut + joint.index(",") + 1  # where the delimiter check leaves the cursor
        return values

    def _expect(self, char: str) -> None:
        if self.peek() != char:
            raise self._unexpected(f"'{char}'")
        self._pos += 1

    def _decode(self) -> Any:
        """Decode the value at the cursor (which is on its first character) and step past it."""
        while True:
            text, pos = self._text, self._pos
            if not self._eof and len(text) - pos < self._lookahead:
                self._grow()
                continue
            try:
                value, end = _scan(text, pos)
            except StopIteration as stop:  # no value starts at stop.value: maybe a cut "tr|ue"
                self._retry_or_fail(json.JSONDecodeError("Expecting value", text, stop.value))
                continue
            except json.JSONDecodeError as exc:
                self._retry_or_fail(exc)
                continue
            except RecursionError:
                raise self._error(pos, _NESTED_TOO_DEEPLY) from None
            if end > len(text) - _NEAR_END and not self._eof:
                self._grow()  # a number ending at the window's edge ("0.|5") may go on
                continue
            if end - pos > 2 * NESTING_LIMIT and nested_too_deeply(text, pos, end):
                raise self._error(pos, _NESTED_TOO_DEEPLY)
            self._pos = end
            return value

    def _retry_or_fail(self, failure: json.JSONDecodeError) -> None:
        """Read on when the failure may be the window cutting a value; else raise it."""
        cut_by_window = failure.pos >= len(self._text) - _NEAR_END or failure.msg.startswith(
            "Unterminated string"
        )
        if self._eof or not cut_by_window:
            raise self._syntax_error(failure)
        self._grow()

    def _grow(self) -> None:
        if len(self._text) - self._pos > self._max_value_chars:
            raise self._error(
                self._pos, f"one JSON value is larger than {self._max_value_chars:,} characters"
            )
        self._fill()

    def _fill(self) -> None:
        """Read the next chunk into the window, dropping the text already consumed."""
        start = self._bytes_read
        # Where the kept text starts in the file: every byte decoded so far, less the kept text's
        # own. Counting the kept rest (a lookahead) instead of the consumed window (a megabyte)
        # saves encoding each window a second time.
        decoded = start - len(self._decoder.getstate()[0])
        kept = self._text[self._pos :]
        try:
            data = self._file.read(self._chunk_bytes)
        except OSError as exc:
            raise ExportError(self._path, f"byte {start}", f"cannot read: {exc}") from None
        self._bytes_read += len(data)
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise ExportError(
                self._path, f"byte {start - pending + exc.start}", "not UTF-8 text"
            ) from None
        self._text_start_byte = decoded - _utf8_length(kept)
        self._consumed_chars += self._pos
        self._text = kept + text
        self._pos = 0
        self._eof = not data
        # A value decoded from the old window may still be on its way to the caller: keep its flag.
        window_escapes = has_escapes(self._text)
        self.escapes = self._window_escapes or window_escapes
        self._window_escapes = window_escapes

    def _byte_at(self, pos: int) -> int:
        return self._text_start_byte + _utf8_length(self._text[:pos])

    def _error(self, pos: int, message: str) -> ExportError:
        return ExportError(self._path, f"byte {self._byte_at(pos)}", message)

    def _unexpected(self, wanted: str) -> ExportError:
        found = self.peek()
        if found == "":
            return self._error(self._pos, f"truncated JSON (expected {wanted})")
        return self._error(self._pos, f"invalid JSON (expected {wanted}, found {found!r})")

    def _syntax_error(self, exc: json.JSONDecodeError) -> ExportError:
        inside_string = exc.msg.startswith("Unterminated string")
        if self._eof and (exc.pos >= len(self._text) or inside_string):
            # The data stops mid-value: say where it stops.
            reason = "it ends inside a string" if inside_string else exc.msg
            return self._error(len(self._text), f"truncated JSON ({reason})")
        return self._error(exc.pos, f"invalid JSON ({exc.msg})")


def _joint(text: str, end: int, after_comma: int) -> str | None:
    """The text joining two object elements, from the first's "}" through the second's first key."""
    key = _OBJECT_START.match(text, _WHITESPACE.match(text, after_comma).end())
    if key is None or text[end - 1 : end] != "}":
        return None
    return text[end - 1 : key.end()]


def has_escapes(text: str) -> bool:
    """Whether JSON text spells a NUL ("\\u0000") or a lone surrogate ("\\ud83d" alone): the only
    ways to get either into a decoded string, since raw control characters and raw surrogates
    are refused. Conservative: an escaped backslash before "u0000" also counts."""
    return any(len(match[0]) != _PAIR_LENGTH for match in _NUL_OR_SURROGATE_ESCAPE.finditer(text))


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
