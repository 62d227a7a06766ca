"""A reverse proxy in front of the sandbox's store that stumbles as S3 does: 503 SlowDown, resets, latency.

Stdlib only, one thread a connection, loopback only.  Each request draws its fate, at the configured
rates (:class:`Faults`, ``503:0.05,reset:0.03,latency:0.01:200ms``):

- **503**: answered here with S3's own error (``<Error><Code>SlowDown</Code>...``, ``x-amz-request-id``),
  after its body was read, on a connection kept alive; the store never sees it;
- **reset**: forwarded; of the store's answer the client gets the headers and half the body (half the
  headers when there is no body), then a TCP reset (SO_LINGER 0);
- **latency**: forwarded after a pause;
- else forwarded as it came.

A request goes to the store byte for byte, Host header and all, so SigV4 signatures stay valid; an
``Expect: 100-continue`` is answered here (and not passed on: it is no signed header), so the client sends
its body at once.  Bodies of either length (Content-Length, chunked, to the close) are streamed through,
never held.  Bounded: at most ``max_connections`` at once (the rest wait in the listen queue), requests of
at most ``max_body`` bytes (413 past it), connections idle at most ``idle`` seconds, and the proxy stops by
itself ``lifetime`` seconds after it started.  ``counts`` says what it did; ``log``, given, gets a JSON line a
fault (method, path without its query: a presigned one holds a signature).

    python -m deploy.sandbox.fault_proxy --port 18334 --upstream 127.0.0.1:18333 --faults 503:0.05,reset:0.03
"""

from __future__ import annotations

import argparse
import json
import random
import select
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from email.utils import formatdate
from typing import BinaryIO

from .http_framing import copy_body, forward, parse_request, parse_response, read_head, response_length, without_header

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SLOW_DOWN_BODY = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce '
                  'your request rate.</Message><RequestId>{id}</RequestId><HostId>{host}</HostId></Error>')


@dataclass(frozen=True)
class Faults:
    """The share of requests each fault takes (one draw a request: they never overlap)."""

    slow_down: float = 0.0
    reset: float = 0.0
    latency: float = 0.0
    delay: float = 0.2     # seconds a delayed request waits

    def __post_init__(self):
        if min(self.slow_down, self.reset, self.latency, self.delay) < 0 or \
                self.slow_down + self.reset + self.latency > 1:
            raise ValueError(f"fault rates must be shares of 0 to 1 that add up to at most 1: {self}")

    def text(self) -> str:
        parts = [f"503:{self.slow_down:g}" if self.slow_down else "", f"reset:{self.reset:g}" if self.reset else "",
                 f"latency:{self.latency:g}:{self.delay * 1000:g}ms" if self.latency else ""]
        return ",".join(part for part in parts if part) or "off"


def parse_faults(text: str) -> Faults:
    """``503:0.05,reset:0.03,latency:0.01:200ms`` (shares, or percentages: ``503:5%``); "off" or "" for none."""
    values: dict[str, float] = {}
    for part in filter(None, (part.strip() for part in (text or "").split(","))):
        if part == "off":
            continue
        name, _, rest = part.partition(":")
        rate, _, delay = rest.partition(":")
        try:
            share = float(rate[:-1]) / 100 if rate.endswith("%") else float(rate)
            if name == "latency" and delay:
                values["delay"] = float(delay[:-2]) / 1000 if delay.endswith("ms") else float(delay.rstrip("s"))
        except ValueError:
            raise ValueError(f"fault {part!r}: expected NAME:RATE, e.g. 503:0.05, reset:3%, "
                             "latency:0.01:200ms") from None
        key = {"503": "slow_down", "slowdown": "slow_down", "reset": "reset", "latency": "latency"}.get(name.lower())
        if key is None:
            raise ValueError(f"unknown fault {name!r}: expected 503, reset or latency")
        values[key] = share
    return Faults(**values)


def slow_down_answer(head_only: bool, keep_alive: bool) -> bytes:
    """S3's 503 SlowDown, as S3 words it."""
    request_id = uuid.uuid4().hex[:16].upper()
    body = SLOW_DOWN_BODY.format(id=request_id, host=uuid.uuid4().hex).encode()
    head = (f"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n"
            f"x-amz-request-id: {request_id}\r\nDate: {formatdate(usegmt=True)}\r\nServer: AmazonS3\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n").encode()
    return head if head_only else head + body


class FaultProxy:
    """Listens on ``host:port`` (0: any free port), forwards to ``upstream`` (both loopback), stumbles on cue."""

    def __init__(self, upstream: tuple[str, int], faults: Faults, port: int = 0, host: str = "127.0.0.1",
                 seed: int | None = None, max_connections: int = 256, max_body: int = 512 * 1024 * 1024,
                 idle: float = 120.0, lifetime: float = 3600.0, log: BinaryIO | None = None):
        for name, address in (("listen", host), ("upstream", upstream[0])):
            if address not in LOOPBACK:
                raise ValueError(f"the fault proxy's {name} address must be loopback, not {address!r}")
        self.upstream, self.faults, self.max_body, self.idle, self.lifetime = upstream, faults, max_body, idle, lifetime
        self.counts: Counter[str] = Counter()
        self._random, self._lock, self._log = random.Random(seed), threading.Lock(), log
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopped = threading.Event()
        self._listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                              backlog=128)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    def start(self) -> "FaultProxy":
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def wait(self) -> None:
        """Until the lifetime is over (or stop())."""
        self._stopped.wait(max(0.0, self.lifetime - (time.monotonic() - self._started)))
        self.stop()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- serving ------------------------------------------------------------------------------

    def _accept(self) -> None:
        self._listener.settimeout(0.5)
        while not self._stopped.is_set() and time.monotonic() - self._started < self.lifetime:
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                self._slots.release()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()
        self._stopped.set()   # the lifetime is over, or stop(): no new connection from here on
        self._listener.close()

    def _serve(self, client: socket.socket) -> None:
        reader, upstream = client.makefile("rb"), Upstream(self.upstream, self.idle)
        try:
            client.settimeout(self.idle)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # a head and its body go as written
            while not self._stopped.is_set():
                request = read_head(reader)
                if request is None or not self._one(client, reader, request, upstream):
                    return
        except (OSError, ValueError):
            pass   # a client gone, an idle timeout, a malformed request: the connection ends
        finally:
            upstream.close()
            reader.close()   # the socket closes (and a reset's RST goes) once its file is closed too
            client.close()
            self._slots.release()

    def _one(self, client: socket.socket, reader: BinaryIO, head: bytes, upstream: "Upstream") -> bool:
        """Serve one request; False when the connection must end."""
        method, path, version, headers = parse_request(head)
        length = int(headers.get("content-length", "0") or 0)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        if length > self.max_body:
            client.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        if headers.get("expect", "").lower() == "100-continue":
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            head = without_header(head, b"expect")
        fault = self._draw()
        self._count(fault, method, path)
        if fault == "503":
            copy_body(reader, None, length, chunked, self.max_body)
            client.sendall(slow_down_answer(method == "HEAD", keep_alive))
            return keep_alive
        if fault == "latency":
            time.sleep(self.faults.delay)
        sock, answer = upstream.connection()
        sock.sendall(head)
        copy_body(reader, sock, length, chunked, self.max_body)
        response = read_head(answer, skip_informational=True)
        if response is None:
            return False
        status, response_headers = parse_response(response)
        body = response_length(method, status, response_headers)
        if fault == "reset":
            cut = len(response) + body // 2 if body and body > 0 else \
                len(response) + 1 if body is None or body < 0 else len(response) // 2
            forward(client, response, answer, body, cut)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        forward(client, response, answer, body)
        if body is None or response_headers.get("connection", "").lower() == "close":
            upstream.close()   # the store ends this connection: the next request opens another
            return False
        return keep_alive

    def _draw(self) -> str:
        with self._lock:
            draw = self._random.random()
        faults = self.faults
        if draw < faults.slow_down:
            return "503"
        if draw < faults.slow_down + faults.reset:
            return "reset"
        if draw < faults.slow_down + faults.reset + faults.latency:
            return "latency"
        return ""

    def _count(self, fault: str, method: str, path: str) -> None:
        with self._lock:
            self.counts["requests"] += 1
            if fault:
                self.counts[fault] += 1
            if fault and self._log is not None:
                line = {"time": round(time.time(), 3), "fault": fault, "method": method, "path": path.split("?")[0]}
                self._log.write((json.dumps(line) + "\n").encode())
                self._log.flush()


class Upstream:
    """One kept connection to the store per client connection (as the client keeps its own): opened when a
    request comes, opened again when the store closed it meanwhile."""

    def __init__(self, address: tuple[str, int], timeout: float):
        self.address, self.timeout = address, timeout
        self.sock: socket.socket | None = None
        self.reader: BinaryIO | None = None

    def connection(self) -> tuple[socket.socket, BinaryIO]:
        if self.sock is not None and select.select([self.sock], [], [], 0)[0]:
            self.close()   # readable while idle: the store closed it (or says something unasked): a new one
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb")
        return self.sock, self.reader

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
        self.sock = self.reader = None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.sandbox.fault_proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", default="127.0.0.1:18333", help="the store, HOST:PORT (loopback)")
    parser.add_argument("--faults", default="off", help="503:0.05,reset:0.03,latency:0.01:200ms (or off)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--lifetime", type=float, default=4 * 3600.0, help="seconds until it stops by itself")
    parser.add_argument("--log", default=None, help="a JSON line per injected fault to this file")
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    log = open(args.log, "ab") if args.log else None
    proxy = FaultProxy((host, int(port)), parse_faults(args.faults), port=args.port, seed=args.seed,
                       lifetime=args.lifetime, log=log).start()
    print(f"fault proxy on 127.0.0.1:{proxy.port} -> {args.upstream}, faults {proxy.faults.text()}", flush=True)
    try:
        proxy.wait()
    except KeyboardInterrupt:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
