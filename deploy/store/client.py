"""boto3 adapters: one client per run, configured for AWS and S3-compatible stores."""

from __future__ import annotations

import functools
import threading

import boto3
from botocore.config import Config

from ..config.types import Settings


_LOCK = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One per process: a new session reads botocore's service models again (~0.2 s).
    Credentials go to each client, never into the session."""
    return boto3.session.Session()


def s3_client(settings: Settings, anonymous: bool = False):
    """An S3 client; checksums as configured (some S3-compatible stores reject CRCs)."""
    config = Config(
        request_checksum_calculation=settings.checksum_mode,
        response_checksum_validation=settings.checksum_mode,
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
        retries={"max_attempts": 5, "mode": "standard"},
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
        return _session().client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
                                 config=config, **credentials)
