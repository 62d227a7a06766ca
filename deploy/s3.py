"""boto3 adapters: one client per run, configured for AWS and S3-compatible stores."""

from __future__ import annotations

import boto3
from botocore.config import Config

from .config_types import Settings


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
        credentials = {"aws_access_key_id": settings.access_key_id,
                       "aws_secret_access_key": settings.secret_access_key.reveal()}
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
                          config=config, **credentials)
