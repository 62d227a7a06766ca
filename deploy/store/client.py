"""boto3 adapters: one client per run, configured for AWS and S3-compatible stores, retrying as deploy.retry says.

botocore retries in its standard mode (500, 502, 503, 504, SlowDown and the other throttling codes, resets
and timeouts, with exponential backoff and jitter; a retry quota keeps a failing store from being
hammered), up to STORE_RETRY_ATTEMPTS.  Not adaptive mode: its client-side rate limiter slows every thread
of the client after one throttle, and the tool's clients run many threads.  A client given the run's
FaultTally counts each retry by kind (its ``needs-retry`` event).  What botocore does not retry, a body cut
short after the answer's headers came (read outside its retry loop), :func:`store_call` retries.
"""

from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

import boto3
import botocore.exceptions
from botocore.config import Config

from ..config.types import Settings
from ..retry import Fault, FaultTally, fault_of_answer, fault_of_error, policy_of, with_retries

T = TypeVar("T")
_LOCK = threading.Lock()
# Raised while reading a body botocore's retries have already let through (not wrapped by its HTTP layer).
_BODY_ERRORS = frozenset({"ProtocolError", "ResponseStreamingError", "IncompleteReadError", "IncompleteRead"})


@functools.cache
def _session() -> boto3.session.Session:
    """One per process: a new session reads botocore's service models again (~0.2 s).
    Credentials go to each client, never into the session."""
    return boto3.session.Session()


def s3_client(settings: Settings, anonymous: bool = False, faults: FaultTally | None = None):
    """An S3 client; checksums as configured (some S3-compatible stores reject CRCs); retries by the policy,
    counted into ``faults`` when given."""
    attempts = settings.store_retry_attempts
    config = Config(
        request_checksum_calculation=settings.checksum_mode,
        response_checksum_validation=settings.checksum_mode,
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
        retries={"total_max_attempts": attempts, "mode": "standard"},   # the first try included
        max_pool_connections=32,
        connect_timeout=5,
        read_timeout=30,
    )
    credentials = {}
    if anonymous:
        from botocore import UNSIGNED
        config = config.merge(Config(signature_version=UNSIGNED))
    else:
        # SigV4 everywhere, presigned URLs too (botocore would presign with SigV2 for a custom endpoint).
        config = config.merge(Config(signature_version="s3v4"))
        credentials = {"aws_access_key_id": settings.access_key_id,
                       "aws_secret_access_key": settings.secret_access_key.reveal()}
    with _LOCK:  # a session is not thread-safe; its clients are
        client = _session().client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
                                   config=config, **credentials)
    if faults is not None:
        client.meta.events.register("needs-retry.s3", functools.partial(_count_retry, faults, attempts))
    return client


def _count_retry(faults: FaultTally, most: int, response=None, attempts: int = 0, caught_exception=None,
                 **_) -> None:
    """Count the retry botocore's handler is about to make (its verdict is not ours to see: what it retries
    is what deploy.retry calls transient).  Returns None: the decision stays botocore's."""
    if attempts >= most:
        return None
    fault = fault_of_error(caught_exception) if caught_exception is not None else answer_fault(response)
    if fault is not None and fault.transient:
        faults.add(fault.kind)
    return None


def answer_fault(response) -> Fault | None:
    """The fault of a botocore (http_response, parsed) pair; None for a success."""
    if not response:
        return None
    http_response, parsed = response
    error = (parsed or {}).get("Error", {})
    return fault_of_answer(getattr(http_response, "status_code", 0) or 0, error.get("Code", ""),
                           error.get("Message", ""))


def client_fault(error: botocore.exceptions.ClientError) -> Fault:
    """The fault of the answer a ClientError carries: its status, the store's code and message."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    said = error.response.get("Error", {})
    return fault_of_answer(status, said.get("Code", "") or "", said.get("Message", "") or "") or \
        Fault(str(status), False, f"HTTP {status}")


def attempts_made(error: botocore.exceptions.ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("RetryAttempts") or 0) + 1


def store_call(call: Callable[[], T], what: str, settings: Settings, faults: FaultTally | None = None) -> T:
    """``call()`` (boto3, body read included), retried when a body was cut short after its headers came:
    botocore reads a body outside its own retries.  Everything else is botocore's to retry, and raised."""
    return with_retries(call, what, policy_of(settings), faults, judge_error=_body_cut_short).value


def _body_cut_short(error: BaseException) -> Fault | None:
    if type(error).__name__ not in _BODY_ERRORS:
        return None
    return fault_of_error(error)
