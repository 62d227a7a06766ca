"""HTTP/1.1 framing for the fault proxy (``deploy.sandbox.fault_proxy``): heads read and parsed, bodies of
either length (Content-Length, chunked with its trailers, to the close) streamed as they came, an answer cut
after so many bytes.  Stdlib only; nothing is held but one chunk."""

from __future__ import annotations

import socket
from typing import BinaryIO

HEAD_LIMIT = 64 * 1024
CHUNK = 64 * 1024


def read_head(reader: BinaryIO, skip_informational: bool = False) -> bytes | None:
    """The request or status line and headers, up to the blank line; None at a clean end of the stream."""
    while True:
        lines = []
        while True:
            line = reader.readline(HEAD_LIMIT + 1)
            if not line:
                if lines:
                    raise ValueError("the stream ended inside the headers")
                return None
            if not lines and line in (b"\r\n", b"\n"):
                continue   # a stray line break between messages
            lines.append(line)
            if sum(map(len, lines)) > HEAD_LIMIT:
                raise ValueError("headers too long")
            if line in (b"\r\n", b"\n"):
                break
        head = b"".join(lines)
        if skip_informational and head[9:10] == b"1":
            continue   # a 1xx of the store's: the client has had its 100 from us
        return head


def _headers(lines: list[bytes]) -> dict[str, str]:
    found = {}
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        found[name.strip().lower()] = value.strip()
    return found


def parse_request(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    first, *rest = head.rstrip(b"\r\n").split(b"\r\n")
    method, path, version = first.decode("latin-1").split(" ", 2)
    return method, path, version.strip(), _headers(rest)


def parse_response(head: bytes) -> tuple[int, dict[str, str]]:
    first, *rest = head.rstrip(b"\r\n").split(b"\r\n")
    return int(first.split(b" ", 2)[1]), _headers(rest)


def without_header(head: bytes, name: bytes) -> bytes:
    lines = head.split(b"\r\n")
    return b"\r\n".join(line for line in lines if line.split(b":", 1)[0].strip().lower() != name)


def response_length(method: str, status: int, headers: dict[str, str]) -> int | None:
    """The body's length: 0 for none, -1 for chunked, None for "to the close"."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return -1
    if "content-length" in headers:
        return int(headers["content-length"])
    return None


def copy_body(reader: BinaryIO, to: socket.socket | None, length: int, chunked: bool, most: int) -> None:
    """A request body, as it came (chunked framing and trailers included), to ``to`` (None: read and dropped)."""
    send = to.sendall if to is not None else (lambda data: None)
    if chunked:
        total = 0
        while True:
            size_line = reader.readline(HEAD_LIMIT)
            send(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            total += size
            if total > most:
                raise ValueError("request body too long")
            if size == 0:
                while (trailer := reader.readline(HEAD_LIMIT)) not in (b"\r\n", b"\n", b""):
                    send(trailer)
                send(b"\r\n")
                return
            copy_exactly(reader, send, size + 2)
    else:
        copy_exactly(reader, send, length)


def copy_exactly(reader: BinaryIO, send, count: int) -> None:
    while count > 0:
        data = reader.read(min(CHUNK, count))
        if not data:
            raise ValueError("the body ended early")
        send(data)
        count -= len(data)


def forward(client: socket.socket, head: bytes, answer: BinaryIO, body: int | None, cut: int | None = None) -> None:
    """The store's answer to the client, streamed; with ``cut``, only that many bytes of it."""
    budget = [cut if cut is not None else float("inf")]

    def send(data: bytes) -> None:
        data = data[:int(min(len(data), budget[0]))]
        if data:
            client.sendall(data)
            budget[0] -= len(data)
        if budget[0] <= 0:
            raise _Cut

    try:
        send(head)
        if body == -1:
            copy_body(answer, _Sender(send), 0, True, 1 << 62)
        elif body is None:
            while data := answer.read1(CHUNK):
                send(data)
        else:
            copy_exactly(answer, send, body)
    except _Cut:
        return


class _Cut(Exception):
    """The reset's share of the answer has been sent."""


class _Sender:
    def __init__(self, send):
        self.sendall = send
