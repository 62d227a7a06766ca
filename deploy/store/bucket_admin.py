"""boto3 S3 adapter for the bucket-level settings provisioning reads and writes (admin keys).

Each reader returns plain data: ``None`` for "not set", ``State.UNSUPPORTED`` (the
provision plan's, ``deploy.provision.plan``) when the store has no such API
(SeaweedFS has no Block Public Access, for one).
"""

from __future__ import annotations

import json

import botocore.exceptions

from ..config.types import Settings
from ..errors import ProvisionError
from ..provision.plan import State
from ..provision.policies import parse
from .errors import error_code, unsupported

_NOT_SET = {"NoSuchBucketPolicy", "NoSuchPublicAccessBlockConfiguration", "OwnershipControlsNotFoundError"}


def bucket_state(client, settings: Settings) -> str:
    """'present', 'absent'; a bucket we cannot reach is an error naming what to do."""
    try:
        client.head_bucket(Bucket=settings.bucket)
        return "present"
    except botocore.exceptions.ClientError as error:
        code = error_code(error)
        headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "absent"
        if code in ("301", "PermanentRedirect"):
            raise ProvisionError(
                f"bucket {settings.bucket} exists in region {headers.get('x-amz-bucket-region', '?')}, "
                f"not in AWS_S3_REGION_NAME={settings.region}: fix AWS_S3_REGION_NAME") from None
        if code in ("403", "AccessDenied"):
            raise ProvisionError(
                f"bucket {settings.bucket} exists but the admin key may not use it: the name is taken by "
                "another account (choose another AWS_STORAGE_BUCKET_NAME) or the admin key lacks rights") from None
        raise


def bucket_region(client, settings: Settings) -> str:
    location = client.get_bucket_location(Bucket=settings.bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def create_bucket(client, settings: Settings) -> None:
    kwargs = {}
    if settings.region != "us-east-1" and not settings.endpoint_url:
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    try:
        client.create_bucket(Bucket=settings.bucket, **kwargs)
    except botocore.exceptions.ClientError as error:
        if error_code(error) == "BucketAlreadyOwnedByYou":
            return
        if error_code(error) == "BucketAlreadyExists":
            raise ProvisionError(f"bucket name {settings.bucket} is taken by another account: "
                                 "choose another AWS_STORAGE_BUCKET_NAME") from None
        raise


def bucket_policy(client, bucket: str) -> dict | None:
    try:
        return parse(client.get_bucket_policy(Bucket=bucket)["Policy"])
    except botocore.exceptions.ClientError as error:
        if error_code(error) in _NOT_SET:
            return None
        raise


def put_bucket_policy(client, bucket: str, policy: dict) -> None:
    try:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    except botocore.exceptions.ClientError as error:
        if error_code(error) == "AccessDenied":
            raise ProvisionError(
                f"bucket {bucket}: setting the public-read policy was refused (AccessDenied): the "
                "account-wide Block Public Access settings may forbid public policies (S3 console > "
                "Block Public Access settings for this account), or the admin key lacks "
                "s3:PutBucketPolicy") from None
        raise


def delete_bucket_policy(client, bucket: str) -> None:
    try:
        client.delete_bucket_policy(Bucket=bucket)
    except botocore.exceptions.ClientError as error:
        if error_code(error) not in _NOT_SET:
            raise


def public_access_block(client, bucket: str):
    """The bucket's Block Public Access switches, None if unset, or State.UNSUPPORTED."""
    try:
        return client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except botocore.exceptions.ClientError as error:
        if unsupported(error):
            return State.UNSUPPORTED
        if error_code(error) in _NOT_SET:
            return None
        raise


def put_public_access_block(client, bucket: str, block: dict | None) -> str:
    """Set (or, with None, remove) the switches; returns 'set' or State.UNSUPPORTED."""
    try:
        if block is None:
            client.delete_public_access_block(Bucket=bucket)
        else:
            client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
        return "set"
    except botocore.exceptions.ClientError as error:
        if unsupported(error):
            return State.UNSUPPORTED
        raise


def ownership(client, bucket: str):
    """The Object Ownership setting, None if unset, or State.UNSUPPORTED."""
    try:
        answer = client.get_bucket_ownership_controls(Bucket=bucket)
    except botocore.exceptions.ClientError as error:
        if unsupported(error):
            return State.UNSUPPORTED
        if error_code(error) in _NOT_SET:
            return None
        raise
    # A store that answers 200 without rules (Ceph RGW) has no such setting to speak of.
    rules = (answer.get("OwnershipControls") or {}).get("Rules")
    if not rules or not rules[0].get("ObjectOwnership"):
        return State.UNSUPPORTED
    return rules[0]["ObjectOwnership"]


def put_ownership(client, bucket: str, value: str | None) -> str:
    try:
        if value is None:
            client.delete_bucket_ownership_controls(Bucket=bucket)
        else:
            client.put_bucket_ownership_controls(
                Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": value}]})
        return "set"
    except botocore.exceptions.ClientError as error:
        if unsupported(error):
            return State.UNSUPPORTED
        raise


def keys_under(client, bucket: str, prefix: str = "") -> list[str]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def delete_keys(client, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start:start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
