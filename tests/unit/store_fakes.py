"""A store that stumbles on cue, for the unit tests of the store adapters' retries: a loopback HTTP server
(ephemeral port, 127.0.0.1 only) that answers each request with the next of a script, and records what it
was asked."""

from __future__ import annotations

import http.server
import socket
import struct
import threading
from dataclasses import dataclass

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message><RequestId>FAKE</RequestId></Error>')
DENIED = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
NO_SUCH_KEY = b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/xml"
    cut: bool = False         # send the headers and half the body, then reset the connection


def slow_down() -> Answer:
    return Answer(503, SLOW_DOWN)


def reset_midway(body: bytes, content_type: str = "application/octet-stream") -> Answer:
    return Answer(200, body, content_type, cut=True)


class StumblingStore:
    """``script``: the answers, in order; past its end, ``then`` for every request."""

    def __init__(self, script: list[Answer], then: Answer | None = None):
        self.script, self.then = list(script), then or Answer(200, b"ok", "text/plain")
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self._answer()

            def do_HEAD(self):
                self._answer(head=True)

            def do_PUT(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

            def _answer(self, head: bool = False):
                with store.lock:
                    store.requests.append((self.command, self.path))
                    answer = store.script.pop(0) if store.script else store.then
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if head:
                    return
                if answer.cut:
                    self.wfile.write(answer.body[:len(answer.body) // 2])
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "StumblingStore":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
