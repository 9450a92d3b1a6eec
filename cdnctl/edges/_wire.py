"""HTTP/1.1 on the wire for the edge client: request bytes, and a response reader.

A fan-out to a hundred nodes sends a hundred small requests and reads a hundred small
answers; a general-purpose sans-I/O library spent ~70 µs of CPU per exchange here
(event objects, per-event state machines, per-header validation), several times the
cost of the socket calls. This module does the same job for the one exchange shape the
client has, strictly:

* :func:`request_bytes`: the request as bytes, its method, target and fields checked
  against RFC 9110 grammar (never a CR, LF or NUL anywhere); the fixed part (method and
  fields) is cached, so a request costs one target check and one join.
* :class:`ResponseReader`: one response, fed as it arrives. Framing follows RFC 9112
  §6.3: no body after HEAD and for 1xx/204/304, ``chunked``, ``Content-Length``, or
  until the server closes. 1xx answers are skipped. Anything malformed, ambiguous or
  truncated raises :class:`ProtocolError`; the reader also says whether the connection
  may carry another exchange (HTTP/1.1, no ``Connection: close``, not close-delimited,
  nothing after the answer).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

#: An answer's head (status line and fields) may not be longer than this.
MAX_HEAD = 64 * 1024
_MAX_CHUNK_LINE = 4096

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
# A field value: visible characters, spaces and tabs inside, obs-text allowed.
_VCHAR = rb"[\x21-\x7e\x80-\xff]"
_VALUE = rb"(?:" + _VCHAR + rb"(?:[ \t\x21-\x7e\x80-\xff]*" + _VCHAR + rb")?)?"
_VALUE_RE = re.compile(_VALUE)
# A request target in origin form (or "*"): no space, control character or non-ASCII.
_TARGET_RE = re.compile(rb"[\x21-\x7e]+")
_STATUS_RE = re.compile(rb"HTTP/(\d)\.(\d) ([0-9]{3})(?: ([\t \x21-\x7e\x80-\xff]*))?")
_FIELD_RE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(.*?)[ \t]*")
# A field line whose value is valid, in one match (an answer's head has several).
_VALID_FIELD_RE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(" + _VALUE + rb")[ \t]*")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CHUNK_SIZE_RE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")


class ProtocolError(Exception):
    """The answer is malformed, ambiguous or truncated (the connection is unusable)."""


class InvalidRequestError(ValueError):
    """The request cannot be sent as given (bad method, target, header name or value)."""


def request_bytes(method: str, target: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """``method target HTTP/1.1`` and ``fields``, as bytes; InvalidRequestError if any
    part breaks the grammar."""
    try:
        raw_target = target.encode("ascii")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(f"cannot send {method} {target[:100]!r}: not ASCII") from exc
    if _TARGET_RE.fullmatch(raw_target) is None:
        raise InvalidRequestError(f"cannot send {method} {target[:100]!r}: invalid target")
    head, tail = _fixed(method, tuple(fields))
    return head + raw_target + tail


@functools.lru_cache(maxsize=1024)
def _fixed(method: str, fields: tuple[tuple[str, str], ...]) -> tuple[bytes, bytes]:
    """The request's bytes before and after its target (validated once)."""
    try:
        raw_method = method.encode("ascii")
        lines = []
        for name, value in fields:
            # Surrounding spaces and tabs are not part of a field value (RFC 9110 §5.5).
            raw_name, raw_value = name.encode("ascii"), value.strip(" \t").encode()
            if _TOKEN_RE.fullmatch(raw_name) is None:
                raise InvalidRequestError(f"invalid header name {name[:100]!r}")
            if _VALUE_RE.fullmatch(raw_value) is None:
                raise InvalidRequestError(f"invalid value for header {name}: {value[:100]!r}")
            lines.append(raw_name + b": " + raw_value + b"\r\n")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(f"cannot send {method}: {exc}") from exc
    if _TOKEN_RE.fullmatch(raw_method) is None:
        raise InvalidRequestError(f"invalid method {method[:100]!r}")
    return raw_method + b" ", b" HTTP/1.1\r\n" + b"".join(lines) + b"\r\n"


# Body framings
_NONE, _LENGTH, _CHUNKED, _UNTIL_CLOSE = range(4)
# Chunked sub-states
_SIZE, _DATA, _DATA_END, _TRAILER = range(4)


class ResponseReader:
    """Reads one answer (after any 1xx) to one request; see the module doc.

    Feed bytes with :meth:`feed` and the end of the stream with :meth:`eof`; both return
    True once the answer is complete, after which ``status``, ``reason``, ``headers``
    (lower-case names, in order), ``body`` (its first ``keep`` bytes), ``length`` and
    ``reusable`` hold the result.
    """

    __slots__ = ("_buf", "_chunk_left", "_chunk_state", "_framing", "_head", "_keep",
                 "_keep_alive", "_left", "body", "done", "headers", "length", "reason",
                 "reusable", "status")

    def __init__(self, *, head: bool, keep: int) -> None:
        self._head = head  # answering a HEAD request: no body whatever the fields say
        self._keep = keep
        self._buf = b""
        self._framing = -1  # not known until the head is read
        self._left = 0  # Content-Length bytes still to come
        self._chunk_state, self._chunk_left = _SIZE, 0
        self._keep_alive = False
        self.status, self.reason = 0, ""
        self.headers: list[tuple[str, str]] = []
        self.body, self.length = b"", 0
        self.done = self.reusable = False

    def feed(self, data: bytes) -> bool:
        if self.done:  # bytes after the answer: the connection cannot be trusted
            self.reusable = False
            return True
        buf = self._buf + data if self._buf else data
        self._buf = b""
        while self._framing < 0:
            m = _HEAD_END.search(buf)
            if m is None:
                if len(buf) > MAX_HEAD:
                    raise ProtocolError("answer head too large")
                self._buf = buf
                return False
            if m.start() > MAX_HEAD:
                raise ProtocolError("answer head too large")
            self._read_head(buf[: m.start()])
            buf = buf[m.end():]
        return self._read_body(buf)

    def eof(self) -> bool:
        """The server closed its side: ends a close-delimited body, else a truncation."""
        if self.done:
            return True
        if self._framing == _UNTIL_CLOSE and not self._buf:
            return self._finish(b"")
        raise ProtocolError("connection closed mid-answer")

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\n")
        m = _STATUS_RE.fullmatch(lines[0].rstrip(b"\r"))
        if m is None:
            raise ProtocolError(f"malformed status line {lines[0][:100]!r}")
        major, minor, status = int(m[1]), int(m[2]), int(m[3])
        if major != 1:
            raise ProtocolError(f"unsupported HTTP version {major}.{minor}")
        fields = []
        length: int | None = None
        te: str | None = None
        close = minor == 0  # HTTP/1.0: one exchange per connection
        for line in lines[1:]:
            f = _VALID_FIELD_RE.fullmatch(line.rstrip(b"\r"))
            if f is None:
                raise ProtocolError(f"malformed header line {line[:100]!r}")
            name, value = f[1].decode("ascii").lower(), f[2].decode("latin-1")
            fields.append((name, value))
            if name == "content-length":
                if not value.isdigit() or not value.isascii() or len(value) > 18:
                    raise ProtocolError(f"invalid Content-Length {value[:40]!r}")
                if length is not None and length != int(value):
                    raise ProtocolError("conflicting Content-Length headers")
                length = int(value)
            elif name == "transfer-encoding":
                te = value if te is None else f"{te}, {value}"
            elif name == "connection":
                close = close or any(t.strip().lower() == "close" for t in value.split(","))
        if 100 <= status < 200:
            if status == 101:
                raise ProtocolError("unexpected 101 Switching Protocols")
            return  # informational: the answer follows
        self.status, self.reason, self.headers = status, (m[4] or b"").decode("latin-1"), fields
        if self._head or status in (204, 304):
            self._framing = _NONE
        elif te is not None:
            if te.strip().lower() != "chunked":
                raise ProtocolError(f"unsupported Transfer-Encoding {te[:40]!r}")
            self._framing = _CHUNKED
        elif length is not None:
            self._framing, self._left = _LENGTH, length
        else:
            self._framing, close = _UNTIL_CLOSE, True
        self._keep_alive = not close

    def _read_body(self, buf: bytes) -> bool:
        framing = self._framing
        if framing == _NONE:
            return self._finish(buf)
        if framing == _LENGTH:
            take = buf[: self._left]
            self._left -= len(take)
            self._add(take)
            return self._finish(buf[len(take):]) if self._left == 0 else False
        if framing == _UNTIL_CLOSE:
            self._add(buf)
            return False
        return self._read_chunks(buf)

    def _read_chunks(self, buf: bytes) -> bool:
        while True:
            state = self._chunk_state
            if state == _DATA:
                take = buf[: self._chunk_left]
                self._chunk_left -= len(take)
                self._add(take)
                buf = buf[len(take):]
                if self._chunk_left:
                    return False
                self._chunk_state = _DATA_END
                continue
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > _MAX_CHUNK_LINE:
                    raise ProtocolError("chunk header too long")
                self._buf = buf
                return False
            line, buf = buf[:end].rstrip(b"\r"), buf[end + 1:]
            if state == _SIZE:
                m = _CHUNK_SIZE_RE.fullmatch(line)
                if m is None:
                    raise ProtocolError(f"malformed chunk size {line[:40]!r}")
                size = int(m[1], 16)
                self._chunk_state, self._chunk_left = (_DATA, size) if size else (_TRAILER, 0)
            elif state == _DATA_END:
                if line:
                    raise ProtocolError("chunk data longer than its size")
                self._chunk_state = _SIZE
            elif not line:  # _TRAILER: an empty line ends the answer
                return self._finish(buf)
            elif _FIELD_RE.fullmatch(line) is None:
                raise ProtocolError(f"malformed trailer line {line[:100]!r}")

    def _add(self, data: bytes) -> None:
        if data:
            room = self._keep - len(self.body)
            if room > 0:
                self.body += data[:room]
            self.length += len(data)

    def _finish(self, rest: bytes) -> bool:
        self.done = True
        self.reusable = self._keep_alive and not rest
        return True
