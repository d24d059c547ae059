"""The capture format: raw market-channel WebSocket frames as JSON lines.

A capture is what a recorder writes while it listens to Polymarket's market
channel, before anything is parsed, so that parser fixes can be re-applied to
old recordings (``clobsim data import``). Documented for users in
``docs/data-capture.md``. One JSON object per line (UTF-8), in receive order:

* a frame: ``{"recv_ns": <int>, "frame": "<the frame text exactly as received>"}``;
  a hand-written file may put the decoded JSON object or array in ``frame``;
* a connection change: ``{"recv_ns": <int>, "connection": "connected" |
  "disconnected", "reason": "<free text>"}``.

``recv_ns`` is the local wall clock (ns since the Unix epoch, UTC) read as
soon as the frame was received. Blank lines are skipped. A file ending in
``.gz`` (or starting with the gzip magic bytes) is read through gzip.

``read_capture`` yields ``CaptureFrame``, ``CaptureConnection`` and, for a
line that is not a capture record, ``BadLine`` (with its 1-based line number),
so a reader can count bad lines and go on. A file that is not a text capture at
all (binary data, an unsupported compression) raises ``DataValidationError``
with reason ``corrupt_capture`` before anything is yielded.

``CaptureWriter`` is the recorder's side: ``frame(text, recv_ns)``,
``connection(connected, reason, recv_ns)``, ``flush()``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO

from sim.errors import DataValidationError

__all__ = [
    "BAD_LINE",
    "BadLine",
    "CaptureConnection",
    "CaptureFrame",
    "CaptureReader",
    "CaptureRecord",
    "CaptureWriter",
    "read_capture",
]

#: ``BadLine.reason`` of a line that is not a capture record.
BAD_LINE = "bad_capture_line"
#: ``BadLine.reason`` of a last line cut short (no newline): a recorder stopped mid-write.
TRUNCATED_LAST_LINE = "truncated_last_line"
#: ``BadLine.reason`` when a gzip stream ends early (a recorder stopped mid-write).
TRUNCATED_GZIP = "truncated_gzip"

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OTHER_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"PAR1": "Parquet",
}
_SNIFF = 64 * 1024
_CONNECTION_STATES = {"connected": True, "disconnected": False}
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class CaptureFrame:
    """One received WebSocket frame. ``frame`` is its text (or a decoded object/array)."""

    line: int
    recv_ns: int
    frame: str | dict | list


@dataclass(frozen=True, slots=True)
class CaptureConnection:
    """The recorder's socket connected (``connected`` True) or dropped."""

    line: int
    recv_ns: int
    connected: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a capture record: ``reason`` (``BAD_LINE`` ...) and what is wrong."""

    line: int
    reason: str
    detail: str


CaptureRecord = CaptureFrame | CaptureConnection | BadLine


def _corrupt(path: str, detail: str) -> DataValidationError:
    return DataValidationError(path, "corrupt_capture", detail)


def _check_text(path: str, head: bytes) -> None:
    """Refuse what is clearly not a JSON-lines text file (decompressed ``head``)."""
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise _corrupt(path, f"this is a {name} file, not a capture (JSON lines, or .gz)")
    if head.startswith(_ZSTD_MAGIC):
        raise _corrupt(
            path, "zstd-compressed captures are not supported: decompress it (zstd -d) or use gzip"
        )
    if b"\x00" in head:
        raise _corrupt(path, "binary data (NUL bytes): not a JSON-lines capture")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sniff boundary
            raise _corrupt(
                path, f"not UTF-8 text at byte {exc.start}: not a JSON-lines capture"
            ) from None


def _parse_line(number: int, raw: bytes) -> CaptureRecord | None:
    """One line as a record; ``None`` for a blank line."""
    text = raw.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:  # includes UnicodeDecodeError
        return BadLine(number, BAD_LINE, f"not JSON: {exc}")
    if not isinstance(obj, dict):
        return BadLine(number, BAD_LINE, f"a JSON {type(obj).__name__}, not an object")
    recv = obj.get("recv_ns")
    if recv is None:
        return BadLine(number, BAD_LINE, "recv_ns is missing")
    if not isinstance(recv, int) or isinstance(recv, bool) or not 0 <= recv <= _INT64_MAX:
        return BadLine(number, BAD_LINE, f"recv_ns {recv!r} is not an integer of ns in int64")
    has_frame, has_conn = "frame" in obj, "connection" in obj
    if has_frame == has_conn:
        what = "both" if has_frame else "neither"
        return BadLine(number, BAD_LINE, f"has {what} of 'frame' and 'connection'")
    if has_frame:
        frame = obj["frame"]
        if not isinstance(frame, str | dict | list):
            return BadLine(number, BAD_LINE, f"frame is a {type(frame).__name__}")
        return CaptureFrame(number, recv, frame)
    state = obj["connection"]
    if state not in _CONNECTION_STATES:
        return BadLine(
            number, BAD_LINE, f"connection {state!r} is not 'connected' or 'disconnected'"
        )
    reason = obj.get("reason", "")
    if not isinstance(reason, str):
        reason = json.dumps(reason)
    return CaptureConnection(number, recv, _CONNECTION_STATES[state], reason)


class CaptureReader:
    """Iterates over the records of a capture file; ``bytes_read``/``size`` for progress.

    Use as ``with CaptureReader(path) as r: for rec in r: ...``. Opening checks
    that the file is a text capture (raises ``DataValidationError``
    ``corrupt_capture`` otherwise).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._raw: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        try:
            magic = self._raw.read(4)
            self._raw.seek(0)
            #: True for a gzip-compressed capture
            self.compressed = magic.startswith(_GZIP_MAGIC)
            text: IO[bytes] = (
                gzip.GzipFile(fileobj=self._raw, mode="rb") if self.compressed else self._raw
            )
            self._stream = _Prefixed(b"", text, str(self.path))
            head = bytearray()
            while len(head) < _SNIFF:
                chunk = self._stream.read(_SNIFF - len(head))
                if not chunk:
                    break
                head += chunk
            _check_text(str(self.path), bytes(head))
            self._stream = _Prefixed(bytes(head), text, str(self.path), self._stream.truncated)
        except BaseException:
            self.close()
            raise

    @property
    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for .gz)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    def __iter__(self) -> Iterator[CaptureRecord]:
        stream = io.BufferedReader(self._stream, buffer_size=1 << 20)
        number = 0
        for raw in stream:
            number += 1
            rec = _parse_line(number, raw)
            if rec is None:
                continue
            if isinstance(rec, BadLine) and not raw.endswith(b"\n"):
                # only the last line can lack its newline: a recorder stopped mid-write
                rec = BadLine(number, TRUNCATED_LAST_LINE, rec.detail)
            yield rec
        if self._stream.truncated:
            yield BadLine(number, TRUNCATED_GZIP, "the gzip stream ends early")

    def close(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None and stream.inner is not self._raw:
            stream.inner.close()
        self._raw.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Prefixed(io.RawIOBase):
    """``head`` (already read for sniffing), then the rest of ``inner``.

    A gzip stream that ends early (``EOFError``) reads as the end of the data
    with ``truncated`` set; other decompression errors raise ``corrupt_capture``.
    ``read1`` is used so no decompressed byte is lost before such an error.
    """

    def __init__(self, head: bytes, inner: IO[bytes], path: str, truncated: bool = False) -> None:
        self._head = memoryview(head)
        self.inner = inner
        self._path = path
        self.truncated = truncated

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self.truncated:
            return 0
        try:
            data = self.inner.read1(len(buffer))  # type: ignore[attr-defined]
        except EOFError:
            self.truncated = True
            return 0
        except (OSError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise _corrupt(self._path, f"bad gzip data: {exc}") from None
        buffer[: len(data)] = data
        return len(data)


def read_capture(path: str | Path) -> Iterator[CaptureRecord]:
    """The records of a capture, in file order (see ``CaptureReader``)."""
    with CaptureReader(path) as reader:
        yield from reader


class CaptureWriter:
    """Appends capture records to a file (gzip-compressed when it ends in ``.gz``).

    The file is opened for appending, so a restarted recorder continues it (a
    ``.gz`` file then holds several gzip members, which readers handle). Not
    thread-safe: call it from the thread that reads the socket. ``flush()``
    pushes what was written to the OS (for ``.gz`` a sync flush, so the data so
    far is readable); ``flush(fsync=True)`` also asks the OS to write it to disk.
    """

    def __init__(self, path: str | Path, *, compress: bool | None = None) -> None:
        self.path = Path(path)
        if compress is None:
            compress = self.path.suffix == ".gz"
        self._raw: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._out: IO[bytes] = (
            gzip.GzipFile(fileobj=self._raw, mode="ab") if compress else self._raw
        )
        self.lines = 0

    def _write(self, record: dict[str, Any]) -> None:
        # ensure_ascii: any frame text (even lone surrogates) round-trips exactly
        self._out.write(json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n")
        self.lines += 1

    def frame(self, frame: str | bytes, recv_ns: int | None = None) -> None:
        """Append one received frame; ``recv_ns`` defaults to now (``time.time_ns()``).

        Read the clock as soon as the socket returns the frame and pass it in.
        Bytes are decoded as UTF-8 (invalid bytes kept as escapes).
        """
        if recv_ns is None:
            recv_ns = time.time_ns()
        if isinstance(frame, bytes | bytearray):
            frame = bytes(frame).decode("utf-8", errors="surrogateescape")
        self._write({"recv_ns": int(recv_ns), "frame": frame})

    def connection(self, connected: bool, reason: str = "", recv_ns: int | None = None) -> None:
        """Append a connection change (after connecting, or when the socket dropped)."""
        if recv_ns is None:
            recv_ns = time.time_ns()
        state = "connected" if connected else "disconnected"
        self._write({"recv_ns": int(recv_ns), "connection": state, "reason": reason})

    def flush(self, *, fsync: bool = False) -> None:
        if isinstance(self._out, gzip.GzipFile):
            self._out.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        if fsync:
            os.fsync(self._raw.fileno())

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
