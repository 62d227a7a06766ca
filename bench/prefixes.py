"""The benchmark's bench-* prefixes in the bucket: how many objects one holds, and deleting one (admin key)."""

from __future__ import annotations

from deploy.config.types import Settings
from deploy.store.client import s3_client


def count_prefix(client, bucket: str, prefix: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    return sum(len(page.get("Contents", [])) for page in pages)


def delete_prefix(settings: Settings, prefix: str) -> int:
    """Delete every object under ``prefix/`` (admin key); how many there were."""
    if not prefix.startswith("bench-"):
        raise ValueError(f"refusing to delete {prefix!r}: the benchmark deletes only its bench-* prefixes")
    client, deleted = s3_client(settings), 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=prefix + "/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=settings.bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted
