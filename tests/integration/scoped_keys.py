"""Keys with exactly the rights `invoke provision` gives, for a prefix of the test's own."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import replace
from typing import Iterator

import botocore.exceptions

from deploy.config.types import Secret, Settings
from deploy.provision import policies
from deploy.store import iam
from deploy.store.client import s3_client


@contextlib.contextmanager
def scoped_key(admin: Settings, prefix: str) -> Iterator[tuple[str, Secret]]:
    """(key id, secret) of a fresh IAM user under provision's writer policy for ``prefix``/*.

    ``admin`` holds the store's admin key; the user is removed afterwards.
    """
    api = iam.iam_client(admin)
    user = f"media-cutover-test-{uuid.uuid4().hex[:8]}"
    api.create_user(UserName=user)
    try:
        api.put_user_policy(UserName=user, PolicyName="media-cutover-media-writer",
                            PolicyDocument=json.dumps(policies.writer_policy(admin.bucket, prefix)))
        key_id, secret = iam.create_access_key(api, user)
        _wait_until_it_lists(replace(admin, access_key_id=key_id, secret_access_key=Secret(secret)), prefix)
        yield key_id, Secret(secret)
    finally:
        for key in iam.access_key_ids(api, user):
            api.delete_access_key(UserName=user, AccessKeyId=key)
        for name in iam.inline_policy_names(api, "user", user):
            api.delete_user_policy(UserName=user, PolicyName=name)
        api.delete_user(UserName=user)


def with_scoped_key(settings: Settings, key: tuple[str, Secret], **changes) -> Settings:
    key_id, secret = key
    return replace(settings, access_key_id=key_id, secret_access_key=secret, **changes)


def _wait_until_it_lists(settings: Settings, prefix: str, timeout: float = 15) -> None:
    """A new key may take a moment to be known (IAM propagation)."""
    client, deadline = s3_client(settings), time.monotonic() + timeout
    while True:
        try:
            client.list_objects_v2(Bucket=settings.bucket, Prefix=prefix + "/", MaxKeys=1)
            return
        except botocore.exceptions.ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
