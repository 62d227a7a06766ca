"""What the store said, for the operator: the one translator of botocore's errors.

:func:`error_code`, :func:`unsupported` and :func:`missing` sort an answer.
:func:`store_errors` turns a refusal, or a store that cannot be reached, into
one operator-facing error that names what was tried, the store's code and what
it means, never a key or a secret.  Whose key made the request decides the
advice and the kind of error: the deploy key's in a run's preflight
(:data:`DEPLOY_KEY`), the admin key's in provision and its teardown
(:data:`ADMIN_KEY`).  A transient fault botocore's retries did not get past (503 SlowDown, a reset) is
no refusal: it becomes StoreUnavailable, naming the status, the store's code and message, or the network
error, and the attempts (``deploy.retry``); never a credentials problem.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import botocore.exceptions

from ..config.types import Settings
from ..errors import MediaCutoverError, PreflightError, ProvisionError, StoreUnavailable
from ..retry import fault_of_error, gave_up, policy_of
from .client import attempts_made, client_fault

# What stores answer for an API they do not implement.
UNSUPPORTED_CODES = {"NotImplemented", "NotImplementedError", "InvalidAction", "UnsupportedOperation",
                     "XNotImplemented", "MethodNotAllowed"}
MISSING_CODES = {"NoSuchEntity", "NoSuchEntityException"}
_UNSUPPORTED_ADVICE = ("the store does not implement this API: make that part with the store's own tools, "
                       "or use a store that has it")


@dataclass(frozen=True)
class Key:
    """Whose key made the request: what each refusal means to its holder, and the error it becomes."""

    advice: dict[str, str]
    error: type[MediaCutoverError]
    refused: str   # how the message says the store refused
    store: str     # what "cannot reach" names when AWS_S3_ENDPOINT_URL is not set


DEPLOY_KEY = Key(advice={
    "SignatureDoesNotMatch": "the secret AWS_SECRET_ACCESS_KEY does not match AWS_ACCESS_KEY_ID",
    "InvalidAccessKeyId": "the store does not know AWS_ACCESS_KEY_ID",
    "AccessDenied": "the key may not do this: check the IAM user's policy",
    "NoSuchBucket": "the bucket does not exist: create it (invoke provision) or fix AWS_STORAGE_BUCKET_NAME",
    "404": "the bucket does not exist: create it (invoke provision) or fix AWS_STORAGE_BUCKET_NAME",
    "403": "access denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the IAM policy",
}, error=PreflightError, refused="refused", store="S3")

ADMIN_KEY = Key(advice={
    "AccessDenied": "the admin key may not do this",
    "InvalidClientTokenId": "the store does not know the admin key",
    "InvalidAccessKeyId": "the store does not know the admin key",
    "SignatureDoesNotMatch": "the admin secret does not match the admin key id",
}, error=ProvisionError, refused="failed", store="AWS")


def error_code(error: Exception) -> str:
    """The store's error code; its HTTP status when it sent none (a HEAD has no body)."""
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code", "") or str(
            error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return type(error).__name__


def unsupported(error: Exception) -> bool:
    """True when the store says it has no such API (not: refused, missing)."""
    if not isinstance(error, botocore.exceptions.ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # 405 Method Not Allowed with no code at all: Ceph RGW's answer to the IAM user API.
    return error_code(error) in UNSUPPORTED_CODES or status in (405, 501)


def missing(error: Exception) -> bool:
    return isinstance(error, botocore.exceptions.ClientError) and error_code(error) in MISSING_CODES


@contextmanager
def store_errors(settings: Settings, what: str, key: Key = ADMIN_KEY) -> Iterator[None]:
    """The store's refusal or absence inside the block as one operator-facing error (never a key or secret)."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        fault = client_fault(error)
        if fault.transient:
            raise StoreUnavailable(gave_up(what, fault, attempts_made(error), None, {}, policy_of(settings))) from None
        code = error_code(error) or "?"
        advice = (_UNSUPPORTED_ADVICE if unsupported(error) else None) or key.advice.get(code) or _message(error)
        raise key.error(f"{what} {key.refused} ({code}): {advice}") from None
    except botocore.exceptions.BotoCoreError as error:
        fault = fault_of_error(error)
        if fault is not None and fault.transient and not isinstance(error, botocore.exceptions.EndpointConnectionError):
            policy = policy_of(settings)
            raise StoreUnavailable(gave_up(what, fault, policy.attempts, None, {}, policy)) from None
        raise key.error(f"{what} failed: cannot reach {settings.endpoint_url or key.store} "
                        f"({type(error).__name__})") from None


def _message(error: botocore.exceptions.ClientError) -> str:
    return error.response.get("Error", {}).get("Message", "") or type(error).__name__
