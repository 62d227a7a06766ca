"""The sandbox's fault proxy (deploy.sandbox.fault_proxy) against a tiny loopback upstream: bytes pass through
untouched at 0 %, a 503 is S3's SlowDown, a reset is a reset, latency is time, the rates hold, and it stays on
loopback and within its bounds."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import os
import socket
import threading
import time
import xml.etree.ElementTree as ElementTree

import pytest

from deploy.sandbox.fault_proxy import FaultProxy, Faults, parse_faults

BIG = os.urandom(5 * 1024 * 1024)


class Upstream(http.server.BaseHTTPRequestHandler):
    """/big: 5 MB; /chunked: a chunked answer; PUT: the body's MD5 and length back; HEAD: headers only."""

    protocol_version = "HTTP/1.1"
    seen: list = []
    ports: list = []        # the proxy's side of each GET's connection

    def do_GET(self):
        type(self).seen.append(("GET", self.path, self.headers.get("Host")))
        type(self).ports.append(self.client_address[1])
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = BIG if self.path == "/big" else b"small answer"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BIG)))
        self.end_headers()

    def do_PUT(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            body = b""
            while (size := int(self.rfile.readline().strip(), 16)) > 0:
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(("PUT", self.path, self.headers.get("Expect")))
        answer = f"{hashlib.md5(body).hexdigest()} {len(body)}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def upstream():
    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 128   # a store's backlog, not the standard library's 5

    server = Server(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream):
    started = []

    def start(faults: Faults, **options) -> FaultProxy:
        started.append(FaultProxy(upstream, faults, seed=7, lifetime=60, **options).start())
        return started[-1]
    yield start
    for each in started:
        each.stop()


def connect(proxy: FaultProxy) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)


# --- 0 %: a plain pipe --------------------------------------------------------------------------

def test_without_faults_five_megabytes_pass_byte_identical_both_ways_on_one_kept_connection(proxy):
    connection = connect(proxy(Faults()))
    connection.request("GET", "/big", headers={"Host": "store.test:18333"})
    answer = connection.getresponse()
    assert answer.status == 200 and answer.read() == BIG
    connection.request("PUT", "/bucket/key", body=BIG)                        # Content-Length, same connection
    answer = connection.getresponse()
    assert answer.read() == f"{hashlib.md5(BIG).hexdigest()} {len(BIG)}".encode()
    connection.request("PUT", "/bucket/chunked", body=iter([BIG[:1000], BIG[1000:70000]]),
                       encode_chunked=True)                                   # a chunked request body
    assert connection.getresponse().read() == f"{hashlib.md5(BIG[:70000]).hexdigest()} 70000".encode()
    connection.request("GET", "/chunked")                                      # a chunked answer
    assert connection.getresponse().read() == b"hello chunked world"
    connection.request("HEAD", "/big")
    answer = connection.getresponse()
    assert answer.getheader("Content-Length") == str(len(BIG)) and answer.read() == b""
    connection.close()
    assert ("GET", "/big", "store.test:18333") in Upstream.seen                 # the Host header as the client sent it


def test_a_kept_client_connection_keeps_one_connection_to_the_store(proxy):
    connection = connect(proxy(Faults()))
    Upstream.ports.clear()
    for _ in range(5):
        connection.request("GET", "/small")
        assert connection.getresponse().read() == b"small answer"
    assert len(Upstream.ports) == 5 and len(set(Upstream.ports)) == 1   # no new connection (nor TIME_WAIT) a request


def test_an_expect_100_continue_is_answered_by_the_proxy_and_not_passed_on(proxy):
    fault_proxy = proxy(Faults())
    with socket.create_connection(("127.0.0.1", fault_proxy.port), timeout=10) as sock:
        sock.sendall(b"PUT /bucket/expect HTTP/1.1\r\nHost: store.test\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")    # before the body is sent
        sock.sendall(b"hello")
        answer = b""
        while not answer.endswith(f"{hashlib.md5(b'hello').hexdigest()} 5".encode()):
            answer += sock.recv(1000)
    assert answer.startswith(b"HTTP/1.1 200")
    assert ("PUT", "/bucket/expect", None) in Upstream.seen


# --- the faults ---------------------------------------------------------------------------------

def test_a_503_is_s3s_slowdown_with_its_xml_body_and_the_connection_stays_usable(proxy):
    fault_proxy = proxy(Faults(slow_down=1.0))
    connection = connect(fault_proxy)
    for _ in range(2):
        connection.request("PUT", "/bucket/key", body=b"x" * 1000)
        answer = connection.getresponse()
        error = ElementTree.fromstring(answer.read())
        assert answer.status == 503 and answer.getheader("Content-Type") == "application/xml"
        assert error.findtext("Code") == "SlowDown"
        assert error.findtext("Message") == "Please reduce your request rate."
        assert answer.getheader("x-amz-request-id")
    connection.request("HEAD", "/big")
    answer = connection.getresponse()
    assert answer.status == 503 and answer.read() == b""
    assert fault_proxy.counts["503"] == 3 and fault_proxy.counts["requests"] == 3


@pytest.mark.parametrize("method, path", [("GET", "/big"), ("GET", "/chunked"), ("HEAD", "/big"),
                                          ("PUT", "/bucket/key")])
def test_a_reset_cuts_the_answer_and_the_client_sees_a_reset_or_a_short_read(proxy, method, path):
    connection = connect(proxy(Faults(reset=1.0)))
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead, http.client.RemoteDisconnected,
                        http.client.BadStatusLine)):
        connection.request(method, path, body=b"abc" if method == "PUT" else None)
        connection.getresponse().read()


def test_latency_adds_its_delay(proxy):
    connection = connect(proxy(Faults(latency=1.0, delay=0.3)))
    begin = time.monotonic()
    connection.request("GET", "/small")
    assert connection.getresponse().read() == b"small answer"
    assert time.monotonic() - begin >= 0.3


def test_the_rates_hold_over_many_requests_with_a_fixed_seed(proxy):
    fault_proxy = proxy(Faults(slow_down=0.05, reset=0.03, latency=0.02, delay=0.001))
    statuses = []
    for _ in range(600):
        connection = connect(fault_proxy)
        try:
            connection.request("GET", "/small")
            answer = connection.getresponse()
            answer.read()
            statuses.append(answer.status)
        except (ConnectionResetError, http.client.HTTPException):
            statuses.append("reset")
        connection.close()
    counts = fault_proxy.counts
    assert counts["requests"] == 600
    assert statuses.count(503) == counts["503"] and statuses.count("reset") == counts["reset"]
    assert 15 <= counts["503"] <= 50 and 6 <= counts["reset"] <= 35 and 3 <= counts["latency"] <= 25


# --- the bounds -------------------------------------------------------------------------------------

def test_it_binds_and_forwards_on_loopback_only(upstream):
    with pytest.raises(ValueError, match="listen address must be loopback"):
        FaultProxy(upstream, Faults(), host="0.0.0.0")
    with pytest.raises(ValueError, match="upstream address must be loopback"):
        FaultProxy(("10.1.2.3", 8333), Faults())


def test_a_body_past_the_limit_is_refused_and_the_proxy_stops_by_itself(proxy):
    fault_proxy = proxy(Faults(), max_body=1000)
    connection = connect(fault_proxy)
    connection.request("PUT", "/bucket/key", body=b"x" * 1001)
    assert connection.getresponse().status == 413
    short = FaultProxy(("127.0.0.1", 9), Faults(), lifetime=0.3).start()
    time.sleep(1.2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", short.port), timeout=1).recv(1)
    short.stop()


def test_fault_rates_are_written_as_the_sandbox_takes_them():
    assert parse_faults("503:0.05,reset:0.03,latency:0.01:200ms") == Faults(0.05, 0.03, 0.01, 0.2)
    assert parse_faults("503:5%,reset:3%") == Faults(slow_down=0.05, reset=0.03)
    assert parse_faults("off") == parse_faults("") == Faults()
    assert Faults(0.05, 0.03, 0.01, 0.2).text() == "503:0.05,reset:0.03,latency:0.01:200ms"
    for wrong, message in (("503:lots", "expected NAME:RATE"), ("drop:0.1", "unknown fault"),
                           ("503:0.7,reset:0.6", "add up to at most 1")):
        with pytest.raises(ValueError, match=message):
            parse_faults(wrong)
