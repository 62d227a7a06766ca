"""teardown-provision against a fake store that keeps AWS's Block Public Access rules."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import botocore.exceptions
import pytest

from deploy.config import credentials
from deploy.config.load import load_settings
from deploy.config.types import Secret
from deploy.provision import policies, record as provision_record, teardown as provision_teardown
from deploy.store import iam
from deploy.errors import ProvisionError

from .test_provision import CONFIG

ALL_ON = policies.PRIVATE_ACCESS_BLOCK
POLICY_SWITCHES_OFF = policies.PUBLIC_POLICY_ACCESS_BLOCK


def _error(code: str, operation: str) -> botocore.exceptions.ClientError:
    status = 403 if code == "AccessDenied" else 404
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def _public(policy: dict) -> bool:
    return any(statement.get("Effect") == "Allow" and statement.get("Principal") in ("*", {"AWS": "*"})
               for statement in policy.get("Statement", []))


class AwsLikeS3:
    """One bucket's policy, Block Public Access and ownership, refusing what AWS refuses.

    As on AWS: a public policy is refused (AccessDenied) while BlockPublicPolicy
    is on; turning the switches on leaves an existing policy in place.
    """

    def __init__(self, access_block: dict | None, policy: dict | None, ownership: str | None):
        self.access_block, self.policy, self.ownership = access_block, policy, ownership
        self.calls: list[str] = []
        self.in_effect: list[dict | None] = []     # the public policy in effect after each change

    def _changed(self, call: str) -> None:
        self.calls.append(call)
        restricted = (self.access_block or {}).get("RestrictPublicBuckets")
        self.in_effect.append(self.policy if self.policy and _public(self.policy) and not restricted else None)

    def head_bucket(self, Bucket):
        return {}

    def get_bucket_policy(self, Bucket):
        if self.policy is None:
            raise _error("NoSuchBucketPolicy", "GetBucketPolicy")
        return {"Policy": json.dumps(self.policy)}

    def put_bucket_policy(self, Bucket, Policy):
        policy = json.loads(Policy)
        if _public(policy) and (self.access_block or {}).get("BlockPublicPolicy"):
            raise _error("AccessDenied", "PutBucketPolicy")
        self.policy = policy
        self._changed("put_bucket_policy")

    def delete_bucket_policy(self, Bucket):
        self.policy = None
        self._changed("delete_bucket_policy")

    def put_public_access_block(self, Bucket, PublicAccessBlockConfiguration):
        self.access_block = dict(PublicAccessBlockConfiguration)
        self._changed("put_public_access_block")

    def delete_public_access_block(self, Bucket):
        self.access_block = None
        self._changed("delete_public_access_block")

    def put_bucket_ownership_controls(self, Bucket, OwnershipControls):
        self.ownership = OwnershipControls["Rules"][0]["ObjectOwnership"]

    def delete_bucket_ownership_controls(self, Bucket):
        self.ownership = None


class NoIam:
    """An IAM where provision's user and group are already gone."""

    def get_user(self, UserName):
        raise _error("NoSuchEntity", "GetUser")

    def get_group(self, GroupName):
        raise _error("NoSuchEntity", "GetGroup")


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    return load_settings("demo", tmp_path, {})


def teardown(settings, store: AwsLikeS3, monkeypatch) -> list[str]:
    monkeypatch.setattr(provision_teardown, "s3_client", lambda admin: store)
    monkeypatch.setattr(iam, "iam_client", lambda admin: NoIam())
    admin = replace(settings, access_key_id="AKIAADMIN", secret_access_key=Secret("admin-secret"))
    return provision_teardown.run_teardown(settings, admin)


def adopted(settings, **before) -> None:
    provision_record.write_record(settings, {
        "env": settings.env, "bucket": settings.bucket, "prefix": settings.media_prefix, "created": {},
        "before": {what: {"value": value} for what, value in before.items()}})


def everything_public(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "Old", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}


def test_private_media_put_a_public_bucket_back_switches_first_then_its_policy(settings, monkeypatch):
    # The bucket had its policy switches off and a public policy; PUBLIC_MEDIA=false blocked
    # everything and removed that policy.  While the switches are all on, AWS refuses the old policy.
    settings = replace(settings, public_media=False)
    old_policy = everything_public(settings.bucket)
    adopted(settings, access_block=POLICY_SWITCHES_OFF, bucket_policy=old_policy)
    store = AwsLikeS3(access_block=ALL_ON, policy=None, ownership="BucketOwnerEnforced")

    lines = teardown(settings, store, monkeypatch)

    assert (store.access_block, store.policy) == (POLICY_SWITCHES_OFF, old_policy)
    assert store.calls == ["put_public_access_block", "put_bucket_policy"]
    assert f"restored the bucket policy of {settings.bucket} to what it was before provision" in lines
    assert f"restored Block Public Access of {settings.bucket}" in lines


def test_public_media_take_their_policy_off_before_the_switches_go_back_on(settings, monkeypatch):
    # AWS's defaults (everything blocked, no policy); provision lifted the two policy switches
    # and set the public-read policy.
    ours = policies.public_read_policy(settings.bucket, settings.media_prefix)
    adopted(settings, access_block=ALL_ON, bucket_policy=None)
    store = AwsLikeS3(access_block=POLICY_SWITCHES_OFF, policy=ours, ownership="BucketOwnerEnforced")

    lines = teardown(settings, store, monkeypatch)

    assert (store.access_block, store.policy) == (ALL_ON, None)
    assert store.calls == ["delete_bucket_policy", "put_public_access_block"]
    assert lines[-1] == f"kept bucket {settings.bucket}: provision adopted it, did not create it"


def test_a_public_policy_kept_without_effect_goes_back_without_taking_effect(settings, monkeypatch):
    # The bucket had every switch on and a policy making everything public, kept without effect
    # by RestrictPublicBuckets; provision removed it and lifted the policy switches for its own.
    ours, old_policy = policies.public_read_policy(settings.bucket, settings.media_prefix), \
        everything_public(settings.bucket)
    adopted(settings, access_block=ALL_ON, bucket_policy=old_policy)
    store = AwsLikeS3(access_block=POLICY_SWITCHES_OFF, policy=ours, ownership="BucketOwnerEnforced")

    teardown(settings, store, monkeypatch)

    assert (store.access_block, store.policy) == (ALL_ON, old_policy)
    assert old_policy not in store.in_effect          # not for a moment


def test_a_bucket_without_switches_gets_its_public_policy_back_under_private_media(settings, monkeypatch):
    settings = replace(settings, public_media=False)
    old_policy = everything_public(settings.bucket)
    adopted(settings, access_block=None, bucket_policy=old_policy)
    store = AwsLikeS3(access_block=ALL_ON, policy=None, ownership="BucketOwnerEnforced")

    lines = teardown(settings, store, monkeypatch)

    assert (store.access_block, store.policy) == (None, old_policy)
    assert f"restored Block Public Access of {settings.bucket}" in lines


class RefusingS3(AwsLikeS3):
    """A store that refuses the admin key on the bucket (the bucket part of teardown fails)."""

    def head_bucket(self, Bucket):
        raise _error("AccessDenied", "HeadBucket")


def provisioned_key(settings) -> None:
    """The secrets file as provision leaves it: its key, and the file before it beside."""
    credentials.write_private(credentials.secrets_path(settings), "AWS_ACCESS_KEY_ID=AKIAOLD\n"
                              "AWS_SECRET_ACCESS_KEY=old-secret\n")
    credentials.store_deploy_key(settings, "AKIAPROVISIONED", "provisioned-secret")


def test_the_secrets_file_is_restored_even_when_the_bucket_part_fails(settings, monkeypatch):
    provisioned_key(settings)
    provision_record.write_record(settings, {"env": settings.env, "bucket": settings.bucket, "created": {},
                                             "before": {}, "keys": ["AKIAPROVISIONED"]})
    store = RefusingS3(access_block=ALL_ON, policy=None, ownership="BucketOwnerEnforced")
    with pytest.raises(ProvisionError, match="admin key may not use it"):
        teardown(settings, store, monkeypatch)
    # The user (and its key) went first: the file must not keep pointing at the deleted key.
    assert credentials.key_on_file(settings)[0] == "AKIAOLD"
    assert provision_record.record_path(settings).exists()     # for the re-run


def test_a_re_run_restores_the_secrets_file_an_interrupted_run_left(settings, monkeypatch):
    provisioned_key(settings)
    adopted(settings)
    record = provision_record.read_record(settings)
    provision_record.write_record(settings, {**record, "keys": ["AKIAPROVISIONED"]})
    store = AwsLikeS3(access_block=ALL_ON, policy=None, ownership="BucketOwnerEnforced")
    lines = teardown(settings, store, monkeypatch)         # the user is already gone (NoIam)
    assert f"restored config/{settings.env}.secrets.env as it was before provision" in lines
    assert credentials.key_on_file(settings)[0] == "AKIAOLD"
