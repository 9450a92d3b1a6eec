"""cdnctl.edges._wire: request bytes and the response reader, fed whole and byte by byte."""

from __future__ import annotations

import pytest

from cdnctl.edges._wire import InvalidRequestError, ProtocolError, ResponseReader, request_bytes


def read(data: bytes, *, head: bool = False, keep: int = 100, eof: bool = False,
         split: bool = False) -> ResponseReader:
    reader = ResponseReader(head=head, keep=keep)
    done = False
    for piece in ([data[i:i + 1] for i in range(len(data))] if split else [data]):
        done = reader.feed(piece)
    if eof:
        done = reader.eof()
    assert done
    return reader


both = pytest.mark.parametrize("split", [False, True], ids=["whole", "bytewise"])


@both
def test_content_length_answer(split: bool) -> None:
    r = read(b"HTTP/1.1 200 Purged\r\nX-Cdnctl-Result: Purged\r\nContent-Length: 2\r\n\r\nok",
             split=split)
    assert (r.status, r.reason, r.body, r.length, r.reusable) == (200, "Purged", b"ok", 2, True)
    assert r.headers == [("x-cdnctl-result", "Purged"), ("content-length", "2")]


@both
def test_chunked_answer_with_extensions_and_trailers(split: bool) -> None:
    r = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", split=split)
    assert (r.body, r.length, r.reusable) == (b"hello world", 11, True)


@both
def test_body_beyond_keep_is_counted_not_kept(split: bool) -> None:
    r = read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", keep=4, split=split)
    assert (r.body, r.length) == (b"0123", 10)


@both
def test_informational_answers_are_skipped(split: bool) -> None:
    r = read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
             b"HTTP/1.1 204 No Content\r\n\r\n", split=split)
    assert (r.status, r.body, r.reusable) == (204, b"", True)


def test_no_body_after_head_or_304_whatever_content_length_says() -> None:
    assert read(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", head=True).reusable
    assert read(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n").reusable


def test_close_delimited_body_ends_at_eof_and_is_not_reusable() -> None:
    reader = ResponseReader(head=False, keep=100)
    assert not reader.feed(b"HTTP/1.1 200 OK\r\n\r\nsome")
    assert not reader.feed(b" body")
    assert reader.eof()
    assert (reader.body, reader.reusable) == (b"some body", False)


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra",
], ids=["connection-close", "http-1.0", "bytes-after-the-answer"])
def test_not_reusable(answer: bytes) -> None:
    assert not read(answer).reusable


def test_lf_only_line_endings_are_read() -> None:
    r = read(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
    assert (r.status, r.body) == (200, b"ok")


def test_empty_reason_and_repeated_equal_content_length() -> None:
    r = read(b"HTTP/1.1 404\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx")
    assert (r.status, r.reason, r.body) == (404, "", b"x")


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 OK\r\n\r\n",
    b"HTTP/2.0 200 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
], ids=["no-status", "http2", "space-in-name", "obs-fold", "nul", "conflicting-length",
        "negative-length", "unknown-coding", "bad-chunk-size", "chunk-overrun", "upgrade"])
def test_malformed_answers(answer: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseReader(head=False, keep=100).feed(answer)


def test_truncated_answers_fail_at_eof() -> None:
    for answer in (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                   b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                   b"HTTP/1.1 200 OK\r\nContent-"):
        reader = ResponseReader(head=False, keep=100)
        assert not reader.feed(answer)
        with pytest.raises(ProtocolError, match="closed mid-answer"):
            reader.eof()


def test_an_endless_head_is_refused() -> None:
    with pytest.raises(ProtocolError, match="too large"):
        ResponseReader(head=False, keep=100).feed(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20000)


def test_request_bytes() -> None:
    data = request_bytes("PURGE", "/a?b=1", [("Host", "www.example.com"), ("X-Y", " z w\t")])
    assert data == b"PURGE /a?b=1 HTTP/1.1\r\nHost: www.example.com\r\nX-Y: z w\r\n\r\n"


@pytest.mark.parametrize(("method", "target", "fields"), [
    ("PURGE", "/a b", []),
    ("PURGE", "/\u00e9", []),
    ("PURGE", "/a\r\nX: y", []),
    ("PUR GE", "/a", []),
    ("PURGE", "/a", [("X Y", "z")]),
    ("PURGE", "/a", [("X", "a\r\nInjected: 1")]),
    ("PURGE", "/a", [("X", "a\x00b")]),
])
def test_requests_that_break_the_grammar_are_refused(
    method: str, target: str, fields: list[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidRequestError):
        request_bytes(method, target, fields)
