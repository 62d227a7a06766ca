"""One retry policy for every request to the store: what is transient, how long to wait, when to give up.  Pure.

S3 answers ``503 SlowDown`` while a prefix scales and resets a connection now and then; every S3 client of
note retries these.  Each of the tool's store clients takes its retries from here (``policy_of(settings)``:
STORE_RETRY_ATTEMPTS, STORE_RETRY_SECONDS):

- boto3 (``deploy.store.client``): botocore's standard retry mode with ``max_attempts``; what escapes it (a
  body cut short mid-response) goes through :func:`with_retries` as well;
- the listing's urllib3 pool (``deploy.store.listing``): :func:`with_retries` around each page;
- the sync tools (``deploy.sync.commands``): rclone ``--low-level-retries`` (a request, or a single-part
  upload's whole file, tried again; never the whole pass), s5cmd ``--retry-count``, s3cmd ``--max-retries``;
  the files rclone still failed are sent again by exact list, only those (``deploy.sync.resend``);
- every HTTP check of the store (``deploy.store.probe.fetch_anonymously``): the health check's media URLs,
  the preflight probe's anonymous GET.

Transient, so retried: HTTP 500, 502, 503, 504 (and 429, throttling by another name); the store's error
codes of TRANSIENT_CODES whatever the status (``RequestTimeout`` comes as a 400); a connection reset,
aborted or closed early, a body cut short, a timeout (not a refused connection: nothing listens there).
Never retried: every other answer (403 AccessDenied, SignatureDoesNotMatch, 404 NoSuchKey, whatever their
code says): asking again only delays the truth.  The waits grow exponentially
with full jitter (a random share of ``base * 2**n``, at most ``cap``); a request gives up after
``attempts`` tries, or sooner when the next wait would end past ``seconds`` since its first, with a
StoreUnavailable naming what the store said and how many attempts were made.

What was retried is counted by kind ("503 SlowDown", "ConnectionResetError") in the run's FaultTally
(``Run.faults``); the runner journals each step's share and says it in the step's summary.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Generic, Mapping, TypeVar

from .config.redact import redact
from .config.types import DEFAULT_STORE_RETRY_ATTEMPTS, DEFAULT_STORE_RETRY_SECONDS, Settings
from .errors import StoreUnavailable

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# Codes that mean "not now" whatever the status they come with (S3's RequestTimeout is a 400).
TRANSIENT_CODES = frozenset({"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling",
                             "ThrottlingException", "RequestLimitExceeded", "TooManyRequests", "RequestThrottled"})
# Never transient, whatever else an answer says: asking again only delays the truth.
NEVER_RETRIED_STATUSES = frozenset({403, 404})
NEVER_RETRIED_CODES = frozenset({"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "NoSuchKey",
                                 "NoSuchBucket"})
# Network errors as the standard library raises them: a connection reset or aborted under way (RemoteDisconnected
# is a ConnectionResetError), a broken pipe, a timeout, a body or status line cut short.  Not a refused
# connection: nothing listens there, and asking again only delays saying so.
TRANSIENT_ERRORS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, TimeoutError,
                    http.client.IncompleteRead, http.client.BadStatusLine)
# ... and as HTTP libraries wrap them, when the chain names no cause of the standard library.
TRANSIENT_ERROR_NAMES = frozenset({"ProtocolError", "ReadTimeoutError", "ConnectTimeoutError", "ConnectionClosedError",
                                   "ResponseStreamingError", "IncompleteReadError"})
# How the operator reads a kind of network fault.
LABELS = {"ConnectionResetError": "connection reset", "RemoteDisconnected": "connection closed early",
          "ConnectionRefusedError": "connection refused", "ConnectionAbortedError": "connection aborted",
          "BrokenPipeError": "broken pipe", "TimeoutError": "timeout", "IncompleteRead": "response cut short",
          "BadStatusLine": "status line cut short"}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one request (or one check) is tried."""

    attempts: int = DEFAULT_STORE_RETRY_ATTEMPTS     # STORE_RETRY_ATTEMPTS
    seconds: float = DEFAULT_STORE_RETRY_SECONDS     # STORE_RETRY_SECONDS: from the first try to the last wait's end
    base: float = 0.25         # the first wait is a random share of this
    cap: float = 8.0           # no wait is longer

    def backoff(self, retry: int, draw: Callable[[], float] = random.random) -> float:
        """The wait before retry number ``retry`` (1, 2, ...): full jitter over a capped exponential."""
        return draw() * min(self.cap, self.base * 2 ** (retry - 1))


def policy_of(settings: Settings) -> RetryPolicy:
    return RetryPolicy(attempts=settings.store_retry_attempts, seconds=settings.store_retry_seconds)


@dataclass(frozen=True)
class Fault:
    """One answer or error that was not the success asked for."""

    kind: str        # "503 SlowDown", "502", "ConnectionResetError": what the tally counts
    transient: bool
    said: str        # for people: "HTTP 503 SlowDown: Please reduce your request rate." or the network error


def store_error(body: bytes) -> tuple[str, str]:
    """(code, message) of an S3 error body (``<Error><Code>SlowDown</Code><Message>...``); ("", "") if none."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError, TypeError):
        return "", ""
    found = {element.tag.rsplit("}", 1)[-1]: (element.text or "").strip() for element in root.iter()}
    return found.get("Code", ""), found.get("Message", "")


def fault_of_answer(status: int, code: str = "", message: str = "") -> Fault | None:
    """None for a success (below 400); else the fault, transient or not, named by status and code."""
    if status < 400:
        return None
    code = "" if code == str(status) else code   # botocore names a HEAD's codeless answer by its status
    kind = f"{status} {code}".strip()
    said = f"HTTP {kind}" + (f": {message}" if message else "")
    never = status in NEVER_RETRIED_STATUSES or code in NEVER_RETRIED_CODES
    return Fault(kind, not never and (status in TRANSIENT_STATUSES or code in TRANSIENT_CODES), said)


def fault_of_response(status: int, body: bytes) -> Fault | None:
    """:func:`fault_of_answer` of an HTTP answer, its code and message read from the body."""
    return fault_of_answer(status, *store_error(body)) if status >= 400 else None


def said_of(status: int, body: bytes) -> str:
    """An answer for people: "HTTP 404 NoSuchKey: The specified key does not exist.", "HTTP 200"; with status
    0 (nothing answered) the body names the network error (``deploy.store.probe.anonymous_get``)."""
    if status == 0:
        return f"nothing ({body.decode('utf-8', 'replace') or 'no answer'})"
    fault = fault_of_response(status, body)
    return fault.said if fault is not None else f"HTTP {status}"


def causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps, outermost first: botocore's ``error=`` keyword, urllib's ``reason``,
    an exception among urllib3's ``args``, then ``__cause__`` and ``__context__``."""
    chain: list[BaseException] = []
    while error is not None and all(error is not seen for seen in chain) and len(chain) < 12:
        chain.append(error)
        kwargs = getattr(error, "kwargs", None)
        nested = [kwargs.get("error") if isinstance(kwargs, dict) else None, getattr(error, "reason", None),
                  *getattr(error, "args", ()), error.__cause__, error.__context__]
        error = next((each for each in nested if isinstance(each, BaseException)), None)
    return chain


def fault_of_error(error: BaseException) -> Fault | None:
    """A network error as a fault (transient or not: a name that does not resolve is not); None for an
    error that is no network error at all (a bug, a refusal the caller judges)."""
    chain = causes(error)
    stdlib = [each for each in chain if isinstance(each, TRANSIENT_ERRORS)]
    if stdlib:
        cause = stdlib[-1]
        return Fault(type(cause).__name__, True, f"{type(cause).__name__}: {redact(str(cause)) or 'no detail'}")
    named = [each for each in chain if type(each).__name__ in TRANSIENT_ERROR_NAMES]
    if named:
        return Fault(type(named[-1]).__name__, True, f"{type(named[-1]).__name__}: {redact(str(named[-1]))}")
    other = [each for each in chain if isinstance(each, OSError)]
    if other:
        return Fault(type(other[-1]).__name__, False, f"{type(other[-1]).__name__}: {redact(str(other[-1]))}")
    return None


class FaultTally:
    """The store faults retried, by kind, since the last :meth:`take`: one per run (``Run.faults``), shared by
    the threads of a step; the runner takes each step's share when the step ends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, kind: str, count: int = 1) -> None:
        if count > 0:
            with self._lock:
                self._counts[kind] += count

    def take(self) -> dict[str, int]:
        """What was counted since the last take; the tally starts again from nothing."""
        with self._lock:
            counts, self._counts = dict(self._counts), Counter()
        return counts


def kinds_said(retries: Mapping[str, int]) -> str:
    """"3 × 503 SlowDown, 1 × connection reset": the most frequent first."""
    ordered = sorted(retries.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} × {LABELS.get(kind, kind)}" for kind, count in ordered)


def retried_line(retries: Mapping[str, int]) -> str:
    """"store faults retried: 3 × 503 SlowDown, 1 × connection reset"; "" when nothing was."""
    return f"store faults retried: {kinds_said(retries)}" if retries else ""


@dataclass(frozen=True)
class Attempted(Generic[T]):
    """What a retried call returned, after how many attempts, and what it retried on the way (kind -> count)."""

    value: T
    attempts: int
    retried: dict[str, int] = field(default_factory=dict)


def with_retries(attempt: Callable[[], T], what: str, policy: RetryPolicy, tally: FaultTally | None = None, *,
                 judge: Callable[[T], Fault | None] = lambda value: None,
                 judge_error: Callable[[BaseException], Fault | None] = fault_of_error,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 draw: Callable[[], float] = random.random) -> Attempted[T]:
    """``attempt()`` until it succeeds or fails for good; what it returned (a fault that is not transient,
    a 403 or 404, is returned for the caller to judge: ``judge`` tells the faults of a value).

    A transient fault (of the value, or an error ``judge_error`` calls transient) is retried after
    :meth:`RetryPolicy.backoff`, counted in ``tally`` by kind; past the policy's attempts or time,
    StoreUnavailable names ``what``, the last fault and the attempts.  An error that is no transient
    fault is raised as it is.
    """
    begin, retried, attempts = clock(), Counter(), 0
    while True:
        attempts += 1
        try:
            value = attempt()
        except Exception as error:
            fault = judge_error(error)
            if fault is None or not fault.transient:
                raise
        else:
            fault = judge(value)
            if fault is None or not fault.transient:
                return Attempted(value, attempts, dict(retried))
        wait = policy.backoff(attempts, draw)
        if attempts >= policy.attempts or clock() - begin + wait > policy.seconds:
            raise StoreUnavailable(gave_up(what, fault, attempts, clock() - begin, retried, policy)) from None
        retried[fault.kind] += 1
        if tally is not None:
            tally.add(fault.kind)
        sleep(wait)


def gave_up(what: str, last: Fault, attempts: int, seconds: float | None, retried: Mapping[str, int],
            policy: RetryPolicy) -> str:
    """The message of a request given up on: what, the store's last answer, the attempts, the limits."""
    earlier = ", ".join(f"{count} × {kind}" for kind, count in sorted(retried.items()) if kind != last.kind)
    return (f"{what}: the store answered {last.said} ({'on each of the' if not earlier else 'on the last of'} "
            f"{attempts} attempt{'s' if attempts != 1 else ''}"
            + (f" in {seconds:.1f} s" if seconds is not None else "")
            + (f"; before it: {earlier}" if earlier else "") + "); a transient fault of the store that did not "
            f"pass within STORE_RETRY_ATTEMPTS={policy.attempts}, STORE_RETRY_SECONDS={policy.seconds:g}: "
            "not a refusal, try again later or raise the limits")
