"""Zip archives read as streams under limits against zip bombs; nothing is ever extracted.

Member names are only compared as strings, never used as paths. What an archive *declares* is
checked first, to refuse an honest bomb before reading (entry count and central-directory size
before Python parses it; sizes, ratio and extent of the members we read). What it declares is
never trusted after that: every member, whatever its size, is counted as it inflates, in real
bytes (inflated bytes per member and per archive, and the ratio of inflated to compressed bytes
actually consumed), and a stream that passes a limit stops at the chunk (at most 1 MiB) that
passed it.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from koito_assets.sources.errors import ExportError, member_name
from koito_assets.sources.reader import open_regular

try:  # ISA-L's inflate; zlib where the wheel is missing
    from isal import isal_zlib as _inflater
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - isal is a dependency; this keeps odd platforms working
    _inflater = zlib  # type: ignore[assignment]
    from zlib import crc32 as _crc32

# What reading a damaged, encrypted or exotic member raises, in zipfile and below it.
MEMBER_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    _inflater.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
)
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    struct.error,
)
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature ... file name length, extra field length
_ENCRYPTED = 0x1
_UTF8 = 0x800
_READ_BYTES = 1 << 18
_CHUNK_BYTES = 1 << 20
_CENTRAL_ENTRY_ALLOWANCE = 1024  # bytes of central directory per member: name, extras, comment


@dataclass(frozen=True)
class ZipLimits:
    """How big an archive may be; generous for a ListenBrainz export (one member a month)."""

    max_members: int = 10_000
    max_member_bytes: int = 4 << 30
    max_total_bytes: int = 16 << 30
    # Exports compress 5:1 to 10:1 (ListenBrainz JSONL ~5, Spotify's JSON ~10); one listen
    # repeated compresses ~1000:1, the most deflate can do.
    max_ratio: int = 100
    # Inflated bytes allowed beyond the ratio, per member and per archive: a tiny member (an
    # empty file, a user.json) may compress oddly. Small, so many small members cannot add up.
    ratio_slack_bytes: int = 1 << 16


class SafeZip:
    """An open archive whose members are read as bounded streams."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, size: int, limits: ZipLimits) -> None:
        self._archive = archive
        self._path = path
        self._limits = limits
        self.size = size  # the archive's bytes on disk: all the compressed data there can be
        self._total_inflated = 0
        if len(archive.infolist()) > limits.max_members:
            raise ExportError(path, "", f"more than {limits.max_members} zip members")
        self.members = [info for info in archive.infolist() if not info.is_dir()]

    @property
    def inflated(self) -> int:
        """Bytes inflated from this archive so far (what count_inflated was told, too)."""
        return self._total_inflated

    def names(self) -> list[str]:
        return [info.filename for info in self.members]

    def duplicate_names(self) -> list[str]:
        """Names that more than one member has (an archive appended to, or built by hand)."""
        counts = Counter(info.filename for info in self.members)
        return [name for name, count in counts.items() if count > 1]

    def check_sizes(self, members: list[zipfile.ZipInfo]) -> None:
        """Refuse members whose declared sizes, extent or compression ratio look like a zip bomb."""
        limits = self._limits
        total = 0
        for info in members:
            name = member_name(info.filename)
            if info.file_size > limits.max_member_bytes:
                raise ExportError(
                    self._path, name, f"declares {info.file_size} bytes, over the limit"
                )
            if info.header_offset + info.compress_size > self.size:
                raise ExportError(
                    self._path,
                    name,
                    f"declares {info.compress_size} compressed bytes at offset "
                    f"{info.header_offset}, more than the archive's {self.size} bytes hold",
                )
            if info.file_size > info.compress_size * limits.max_ratio + limits.ratio_slack_bytes:
                raise ExportError(
                    self._path,
                    name,
                    f"compresses {info.file_size} bytes into {info.compress_size}: a zip bomb?",
                )
            total += info.file_size
        if total > limits.max_total_bytes:
            raise ExportError(self._path, "", f"members declare {total} bytes, over the limit")

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """A member's bytes, inflated a chunk (≤ 1 MiB) at a time and counted against the limits
        as they come; a damaged member raises one of MEMBER_ERRORS on the way."""
        deflated = info.compress_type == zipfile.ZIP_DEFLATED and not info.flag_bits & _ENCRYPTED
        source = self._inflate(info) if deflated else self._through_zipfile(info)
        inflated = 0
        for chunk, consumed in source:
            inflated += len(chunk)
            self._check_member(info, inflated, consumed)
            self.count_inflated(len(chunk), info.filename)
            yield chunk

    def _check_member(self, info: zipfile.ZipInfo, inflated: int, consumed: int) -> None:
        limits = self._limits
        if inflated > info.file_size or inflated > limits.max_member_bytes:
            raise ExportError(
                self._path, member_name(info.filename), "inflates past its declared size"
            )
        if inflated > consumed * limits.max_ratio + limits.ratio_slack_bytes:
            raise ExportError(
                self._path,
                member_name(info.filename),
                f"inflates {consumed} compressed bytes into more than {inflated}: a zip bomb",
            )

    def count_inflated(self, size: int, name: str = "") -> None:
        """Count ``size`` more inflated bytes against the archive's limits (also what a worker
        process inflated for us); past one, the read fails."""
        self._total_inflated += size
        limits = self._limits
        where = member_name(name)
        if self._total_inflated > limits.max_total_bytes:
            raise ExportError(self._path, where, "the archive inflates past the limit")
        # Compressed data is never more than the archive: this bounds every member together,
        # however many small ones there are.
        if self._total_inflated > self.size * limits.max_ratio + limits.ratio_slack_bytes:
            raise ExportError(
                self._path,
                where,
                f"the archive's {self.size} bytes inflate into more than "
                f"{self._total_inflated}: a zip bomb",
            )

    def _inflate(self, info: zipfile.ZipInfo) -> Iterator[tuple[bytes, int]]:
        """A deflated member inflated by ISA-L (about 2.5 times zlib's speed), CRC checked; each
        chunk with the compressed bytes consumed so far."""
        with open_regular(self._path) as file:
            file.seek(info.header_offset)
            header = file.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
                raise zipfile.BadZipFile(f"no local header for {info.filename!r}")
            name_size, extra_size = _LOCAL_HEADER.unpack(header)[-2:]
            name = file.read(name_size).decode(
                "utf-8" if info.flag_bits & _UTF8 else "cp437", "replace"
            )
            if name != info.orig_filename:
                raise zipfile.BadZipFile(f"{info.filename!r} is named {name!r} in its local header")
            file.seek(extra_size, io.SEEK_CUR)
            inflater = _inflater.decompressobj(-15)
            remaining, crc, fed = info.compress_size, 0, 0
            while not inflater.eof:
                data = file.read(min(remaining, _READ_BYTES))
                if not data:
                    raise EOFError(f"{info.filename!r} ends inside its compressed data")
                remaining -= len(data)
                fed += len(data)
                while data and not inflater.eof:
                    out = inflater.decompress(data, _CHUNK_BYTES)
                    data = inflater.unconsumed_tail
                    if out:
                        crc = _crc32(out, crc)
                        yield out, fed - len(data)
            if crc != info.CRC:
                raise zipfile.BadZipFile(f"bad CRC-32 for {info.filename!r}")

    def _through_zipfile(self, info: zipfile.ZipInfo) -> Iterator[tuple[bytes, int]]:
        """Any other member (stored, bzip2, lzma) through zipfile's own reader, with the
        compressed bytes it has consumed (all of them, where zipfile does not say)."""
        try:
            member = self._archive.open(info)
        except MEMBER_ERRORS as exc:
            raise ExportError(
                self._path, member_name(info.filename), f"cannot read member: {exc}"
            ) from None
        with member:
            while chunk := member.read(_CHUNK_BYTES):
                left = getattr(member, "_compress_left", 0)
                yield chunk, info.compress_size - left


DEFAULT_LIMITS = ZipLimits()


@contextmanager
def open_zip(path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[SafeZip]:
    """The archive at ``path``, checked against ``limits`` before Python parses its directory."""
    with open_regular(path) as file:
        size = _check_directory_size(file, path, limits)
        try:
            archive = zipfile.ZipFile(file)
        except _ARCHIVE_ERRORS as exc:
            raise ExportError(path, "", f"not a readable zip archive ({exc})") from None
        with archive:
            yield SafeZip(archive, path, size, limits)


def _check_directory_size(file: BinaryIO, path: Path, limits: ZipLimits) -> int:
    """Refuse an archive whose end record declares too many entries or too big a directory.

    zipfile builds an object per central-directory entry before we could count them, so a
    directory of millions of entries would cost gigabytes; the end record tells us first.
    """
    try:
        size = file.seek(0, io.SEEK_END)
        tail_size = min(size, _EOCD_SIZE + 0xFFFF)  # the record plus the longest comment
        file.seek(size - tail_size)
        tail = file.read(tail_size)
        file.seek(0)
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) - at < _EOCD_SIZE:
            return size  # no end record: zipfile will say the archive is broken
        entries, directory_size = struct.unpack_from("<HI", tail, at + 10)
        locator = at - 20
        if locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
            (record_offset,) = struct.unpack_from("<Q", tail, locator + 8)
            file.seek(min(record_offset, size))
            record = file.read(56)
            file.seek(0)
            if record[:4] == _ZIP64_EOCD and len(record) == 56:
                entries, directory_size = struct.unpack_from("<QQ", record, 32)
    except (OSError, ValueError) as exc:
        raise ExportError(path, "", f"cannot read: {exc.strerror or exc}") from None
    if (
        entries > limits.max_members
        or directory_size > limits.max_members * _CENTRAL_ENTRY_ALLOWANCE
    ):
        declared = f"{entries} entries in {directory_size} bytes"
        raise ExportError(path, "", f"the zip directory declares {declared}, over the limit")
    return size
