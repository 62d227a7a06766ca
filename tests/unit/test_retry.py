"""The one retry policy of store traffic (deploy.retry): what is transient, the waits, when it gives up, what
it says, and what it counts."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error

import pytest

from deploy.config.load import load_settings
from deploy.errors import ConfigError, StoreUnavailable
from deploy.retry import (FaultTally, RetryPolicy, causes, fault_of_answer, fault_of_error, fault_of_response,
                          policy_of, retried_line, store_error, with_retries)

from .configs import MINIMAL

CONFIG = MINIMAL + "AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\n"

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>')
DENIED = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"


class Clock:
    """time.monotonic and time.sleep for a test: sleeping moves the clock."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answers(*statuses_and_bodies):
    """An attempt that answers these (status, body) in turn."""
    pending = list(statuses_and_bodies)

    def attempt():
        item = pending.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item
    return attempt


def judge(answer):
    return fault_of_response(*answer)


# --- what is transient ---------------------------------------------------------------------------

def test_the_store_error_body_gives_its_code_and_message_with_or_without_a_namespace():
    assert store_error(SLOW_DOWN) == ("SlowDown", "Please reduce your request rate.")
    namespaced = b'<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>InternalError</Code></Error>'
    assert store_error(namespaced) == ("InternalError", "")
    assert store_error(b"<html>bad gateway</html>") == ("", "")
    assert store_error(b"") == ("", "")


@pytest.mark.parametrize("status, body, kind, transient", [
    (503, SLOW_DOWN, "503 SlowDown", True),
    (500, b"", "500", True), (502, b"", "502", True), (504, b"<html/>", "504", True), (429, b"", "429", True),
    (400, b"<Error><Code>RequestTimeout</Code></Error>", "400 RequestTimeout", True),
    (403, DENIED, "403 AccessDenied", False),
    (403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", "403 SignatureDoesNotMatch", False),
    (404, b"<Error><Code>NoSuchKey</Code></Error>", "404 NoSuchKey", False),
    (404, b"", "404", False),
])
def test_statuses_and_codes_are_transient_or_not(status, body, kind, transient):
    fault = fault_of_response(status, body)
    assert (fault.kind, fault.transient) == (kind, transient)
    assert fault.said.startswith(f"HTTP {kind}")


def test_a_success_is_no_fault_and_a_slowdown_says_its_message():
    assert fault_of_response(200, b"") is None and fault_of_answer(304) is None
    assert fault_of_response(503, SLOW_DOWN).said == "HTTP 503 SlowDown: Please reduce your request rate."


@pytest.mark.parametrize("error, kind", [
    (ConnectionResetError(104, "Connection reset by peer"), "ConnectionResetError"),
    (http.client.RemoteDisconnected("Remote end closed connection without response"), "RemoteDisconnected"),
    (http.client.IncompleteRead(b"abc", 10), "IncompleteRead"),
    (socket.timeout("timed out"), "TimeoutError"),
    (BrokenPipeError(32, "Broken pipe"), "BrokenPipeError"),
    # urllib wraps the cause in URLError.reason
    (urllib.error.URLError(ConnectionResetError(104, "Connection reset by peer")), "ConnectionResetError"),
])
def test_network_errors_are_transient_and_named_by_their_cause(error, kind):
    fault = fault_of_error(error)
    assert (fault.kind, fault.transient) == (kind, True)
    assert fault.said.startswith(kind + ":")


class ProtocolError(Exception):
    """As urllib3 raises it: the cause among its args."""


class ConnectionClosedError(Exception):
    """As botocore raises it: the cause in its ``error=`` keyword."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        super().__init__("Connection was closed before we received a valid response")


def test_the_cause_is_found_through_urllib3_and_botocore_wrappers():
    reset = ConnectionResetError(104, "Connection reset by peer")
    wrapped = ConnectionClosedError(error=ProtocolError("Connection aborted.", reset))
    assert [type(each).__name__ for each in causes(wrapped)] == ["ConnectionClosedError", "ProtocolError",
                                                                 "ConnectionResetError"]
    assert fault_of_error(wrapped).kind == "ConnectionResetError"
    # without a cause of the standard library, the library's own name, when it is a known transient one
    assert fault_of_error(ConnectionClosedError()).kind == "ConnectionClosedError"


def test_a_name_that_does_not_resolve_or_a_refused_connection_is_a_network_error_but_not_transient():
    fault = fault_of_error(socket.gaierror(-2, "Name or service not known"))
    assert (fault.kind, fault.transient) == ("gaierror", False)
    fault = fault_of_error(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    assert (fault.kind, fault.transient) == ("ConnectionRefusedError", False)
    assert fault_of_error(ValueError("a bug")) is None


def test_a_presigned_url_in_an_error_is_redacted():
    error = ProtocolError("http://store/b?X-Amz-Signature=abcdef&X-Amz-Credential=KEY", None)
    assert "abcdef" not in fault_of_error(ConnectionClosedError(error=error)).said


# --- the waits -----------------------------------------------------------------------------------

def test_backoff_is_full_jitter_over_a_capped_exponential():
    policy = RetryPolicy(attempts=10, seconds=100, base=0.25, cap=8)
    assert [policy.backoff(n, draw=lambda: 1.0) for n in range(1, 9)] == [0.25, 0.5, 1, 2, 4, 8, 8, 8]
    assert policy.backoff(3, draw=lambda: 0.5) == 0.5
    assert policy.backoff(3, draw=lambda: 0.0) == 0.0


def test_the_policy_comes_from_the_configuration(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG + "STORE_RETRY_ATTEMPTS=3\nSTORE_RETRY_SECONDS=10\n")
    assert policy_of(load_settings("demo", tmp_path, environ={})) == RetryPolicy(attempts=3, seconds=10.0)
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    defaults = load_settings("demo", tmp_path, environ={})
    assert (defaults.store_retry_attempts, defaults.store_retry_seconds) == (8, 60.0)
    assert policy_of(defaults) == RetryPolicy()


@pytest.mark.parametrize("line, problem", [("STORE_RETRY_ATTEMPTS=0", "STORE_RETRY_ATTEMPTS is '0'"),
                                           ("STORE_RETRY_SECONDS=soon", "STORE_RETRY_SECONDS is 'soon'"),
                                           ("STORE_RETRY_ATTEMPT=3", "did you mean STORE_RETRY_ATTEMPTS")])
def test_a_wrong_retry_setting_is_refused(tmp_path, line, problem):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG + line + "\n")
    with pytest.raises(ConfigError, match=problem):
        load_settings("demo", tmp_path, environ={})


# --- the retrying call ---------------------------------------------------------------------------

def test_transient_faults_are_retried_with_waits_and_counted_by_kind():
    clock, tally = Clock(), FaultTally()
    attempt = answers((503, SLOW_DOWN), ConnectionResetError(104, "reset"), (503, SLOW_DOWN), (200, b"the bytes"))
    done = with_retries(attempt, "GET x", RetryPolicy(attempts=8, seconds=60), tally, judge=judge,
                        sleep=clock.sleep, clock=clock, draw=lambda: 1.0)
    assert done.value == (200, b"the bytes") and done.attempts == 4
    assert done.retried == {"503 SlowDown": 2, "ConnectionResetError": 1}
    assert clock.slept == [0.25, 0.5, 1.0]
    assert tally.take() == {"503 SlowDown": 2, "ConnectionResetError": 1}
    assert tally.take() == {}


@pytest.mark.parametrize("answer", [(403, DENIED), (404, b"<Error><Code>NoSuchKey</Code></Error>"),
                                    (403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")])
def test_403_and_404_are_not_retried_but_returned_for_the_caller_to_judge(answer):
    clock, tally, calls = Clock(), FaultTally(), []

    def attempt():
        calls.append(1)
        return answer
    done = with_retries(attempt, "GET x", RetryPolicy(), tally, judge=judge, sleep=clock.sleep, clock=clock)
    assert done.value == answer and done.attempts == 1 and len(calls) == 1
    assert clock.slept == [] and tally.take() == {}


def test_an_error_that_is_no_transient_fault_is_raised_at_once():
    clock, calls = Clock(), []

    def attempt():
        calls.append(1)
        raise socket.gaierror(-2, "Name or service not known")
    with pytest.raises(socket.gaierror):
        with_retries(attempt, "GET x", RetryPolicy(), sleep=clock.sleep, clock=clock)
    with pytest.raises(KeyError):
        with_retries(lambda: {}["bug"], "GET x", RetryPolicy(), sleep=clock.sleep, clock=clock)
    assert len(calls) == 1 and clock.slept == []


def test_at_the_attempts_it_gives_up_naming_the_status_the_code_and_the_attempts():
    clock, tally = Clock(), FaultTally()
    with pytest.raises(StoreUnavailable) as raised:
        with_retries(lambda: (503, SLOW_DOWN), "GET http://store/b/media/a.jpg", RetryPolicy(attempts=3, seconds=10),
                     tally, judge=judge, sleep=clock.sleep, clock=clock, draw=lambda: 1.0)
    message = str(raised.value)
    assert message.startswith("GET http://store/b/media/a.jpg: the store answered HTTP 503 SlowDown: Please reduce "
                              "your request rate. (on each of the 3 attempts in 0.8 s)")
    assert "STORE_RETRY_ATTEMPTS=3, STORE_RETRY_SECONDS=10" in message
    assert "credential" not in message.lower() and "permission" not in message.lower()
    assert tally.take() == {"503 SlowDown": 2}   # the last attempt is no retry


def test_the_time_limit_ends_it_before_the_attempts_do_and_names_a_network_error_by_class():
    clock = Clock()

    def slow_reset():
        clock.now += 4   # each attempt takes 4 s before the connection resets
        raise ConnectionResetError(104, "Connection reset by peer")
    with pytest.raises(StoreUnavailable) as raised:
        with_retries(slow_reset, "listing s3://b/media/", RetryPolicy(attempts=8, seconds=10), sleep=clock.sleep,
                     clock=clock, draw=lambda: 1.0)
    assert "ConnectionResetError: [Errno 104] Connection reset by peer" in str(raised.value)
    # 4 s, a wait, 4 s, a wait, 4 s: the next wait would end past 10 s.  A request under way is not cut
    # short (its own timeout bounds it): the limit is overrun by at most one attempt.
    assert "on each of the 3 attempts in 12.8 s" in str(raised.value)
    assert clock.now - 100 <= 10 + 4


def test_mixed_faults_name_the_last_and_the_earlier_ones():
    clock = Clock()
    attempt = answers(ConnectionResetError(104, "reset"), (503, SLOW_DOWN), (503, SLOW_DOWN))
    with pytest.raises(StoreUnavailable, match=r"HTTP 503 SlowDown.*on the last of 3 attempts.*"
                                               r"before it: 1 × ConnectionResetError"):
        with_retries(attempt, "GET x", RetryPolicy(attempts=3), judge=judge, sleep=clock.sleep, clock=clock)


# --- the tally and how it reads --------------------------------------------------------------------

def test_the_tally_counts_from_many_threads():
    tally = FaultTally()
    threads = [threading.Thread(target=lambda: [tally.add("503 SlowDown") for _ in range(1000)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.take() == {"503 SlowDown": 8000}


def test_the_operators_line_names_kinds_as_people_read_them():
    assert retried_line({}) == ""
    assert retried_line({"ConnectionResetError": 1, "503 SlowDown": 3, "TimeoutError": 1}) == (
        "store faults retried: 3 × 503 SlowDown, 1 × connection reset, 1 × timeout")
