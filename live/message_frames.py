"""Frames of both WebSocket channels: decoding, keep-alives, the never-raising parser.

``decode_frame`` turns a frame (text, bytes or decoded JSON) into its messages;
``TolerantParser`` is the counting, logging, never-raising base of
``live.market_messages.MarketFrameParser`` and ``live.user_messages.UserFrameParser``.
Both channels frame their messages the same way.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, deque
from typing import Any, Generic, TypeVar

from live.message_fields import Notes, ParseNote, _fail
from sim.errors import MessageParseError

#: Both channels' parsers log here by default: the logger name of the module
#: this machinery was first written in, kept so logging setups keep working.
logger = logging.getLogger("live.market_messages")

_KEEPALIVES = frozenset({"PING", "PONG"})
_MAX_RAW_LOG = 500  # characters of an offending payload shown in a log line


def is_keepalive(frame: object) -> bool:
    """True for a text ``PING``/``PONG`` frame (any case, surrounding whitespace ignored).

    Keep-alives say nothing about data flow (reference 9.5), so callers want them
    apart from market data: a socket that only answers PONG is still stale.
    """
    if isinstance(frame, bytes | bytearray):
        if len(frame) > 16:
            return False
        try:
            frame = frame.decode("ascii")
        except UnicodeDecodeError:
            return False
    return isinstance(frame, str) and len(frame) <= 16 and frame.strip().upper() in _KEEPALIVES


def decode_frame(frame: str | bytes | bytearray | dict | list) -> list[Any]:
    """The messages of a frame: a list of (not yet checked) elements.

    Raises ``MessageParseError`` (``keepalive``, ``invalid_json``,
    ``not_an_object``) when the frame has no messages to give. Shared with
    ``live.user_messages``: both channels frame their messages the same way.
    """
    if isinstance(frame, dict):
        return [frame]
    if isinstance(frame, list):
        return frame
    if is_keepalive(frame):
        raise _fail("keepalive", f"{frame!r} is a keep-alive frame, not market data", frame)
    if isinstance(frame, bytes | bytearray):
        try:
            text = frame.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail("invalid_json", f"frame is not UTF-8: {exc}", frame) from None
    elif isinstance(frame, str):
        text = frame
    else:
        raise _fail("not_an_object", f"frame of type {type(frame).__name__}", frame)
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError; absurdly deep nesting
        raise _fail("invalid_json", f"frame is not JSON: {exc}", frame) from None
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list):
        return decoded
    raise _fail("not_an_object", f"frame is a JSON {type(decoded).__name__}, not an object", frame)


_E = TypeVar("_E")


class TolerantParser(Generic[_E]):
    """Shared machinery of the never-raising frame parsers (market and user channel).

    ``errors`` counts rejected messages by reason, ``rejected`` keeps the last
    ``max_rejected`` errors (each with ``raw``), ``notes`` counts repairs by reason
    (``noted`` keeps the last ``max_rejected``), ``keepalives`` counts PING/PONG
    frames (returned as ``[]`` and not logged: they are normal traffic, and they
    are not counted as errors), ``messages`` counts messages parsed successfully.
    Every element of every frame is exactly one of a message, an error or (a
    whole frame) a keep-alive. In an array frame each element is parsed on its
    own, so one bad element costs only itself.

    Each rejection and note is logged at WARNING, throttled per reason: the first
    ``log_first`` of a reason, then every ``log_every``-th (0: never again). The
    counters always count all of them.
    """

    _channel = "frame"

    def __init__(
        self,
        max_rejected: int = 1000,
        log: logging.Logger | None = None,
        log_first: int = 10,
        log_every: int = 1000,
    ) -> None:
        self.errors: Counter[str] = Counter()
        self.rejected: deque[MessageParseError] = deque(maxlen=max_rejected)
        self.notes: Counter[str] = Counter()
        self.noted: deque[ParseNote] = deque(maxlen=max_rejected)
        self.keepalives = 0
        self.messages = 0
        self._log = log or logger
        self._log_first = log_first
        self._log_every = log_every

    def _parse_message(self, msg: object, recv_ns: int, notes: Notes) -> list[_E]:
        raise NotImplementedError

    def parse(self, frame: str | bytes | bytearray | dict | list, recv_ns: int) -> list[_E]:
        try:
            messages = decode_frame(frame)
        except MessageParseError as exc:
            if exc.reason == "keepalive":
                self.keepalives += 1
            else:
                self._reject(exc)
            return []
        out: list[_E] = []
        for msg in messages:
            notes: Notes = []
            try:
                out.extend(self._parse_message(msg, recv_ns, notes))
            except MessageParseError as exc:
                self._reject(exc)
            else:
                self.messages += 1
                for note in notes:
                    self._note(note)
        return out

    @property
    def error_count(self) -> int:
        """Rejected messages so far, all reasons together."""
        return self.errors.total()

    @property
    def note_count(self) -> int:
        """Repairs so far, all reasons together."""
        return self.notes.total()

    def _should_log(self, count: int) -> bool:
        return count <= self._log_first or (self._log_every > 0 and count % self._log_every == 0)

    def _throttle_hint(self, count: int) -> str:
        if count == self._log_first:
            return f" (further ones logged every {self._log_every}th)" if self._log_every else ""
        return ""

    def _reject(self, exc: MessageParseError) -> None:
        self.errors[exc.reason] += 1
        self.rejected.append(exc)
        count = self.errors[exc.reason]
        if self._should_log(count):
            self._log.warning(
                "%s message rejected: %s #%d%s: %s; raw=%s",
                self._channel,
                exc.reason,
                count,
                self._throttle_hint(count),
                exc.detail,
                _short(exc.raw),
            )

    def _note(self, note: ParseNote) -> None:
        self.notes[note.reason] += 1
        self.noted.append(note)
        count = self.notes[note.reason]
        if note.reason in DOCUMENTED_NOTES:  # the venue's documented form: said once
            if count == 1:
                self._log.info("%s messages carry %s (as documented): %s", self._channel,
                               note.reason, note.detail)  # fmt: skip
            return
        if self._should_log(count):
            self._log.warning(
                "%s message repaired: %s #%d%s: %s; raw=%s",
                self._channel,
                note.reason,
                count,
                self._throttle_hint(count),
                note.detail,
                _short(note.raw),
            )


#: notes of a form the venue documents (user-channel times in seconds): counted, and
#: logged once at INFO instead of as a repair at WARNING
DOCUMENTED_NOTES = frozenset({"timestamp_in_seconds"})


def _short(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= _MAX_RAW_LOG else text[:_MAX_RAW_LOG] + "..."
