"""boto3 IAM adapter: the few calls provisioning needs, with "missing" as None, not an exception.

S3-compatible stores that have IAM (SeaweedFS with ``-s3.iam.readOnly=false``)
serve it at the S3 endpoint; AWS's IAM is global (us-east-1).
"""

from __future__ import annotations

import boto3
import botocore.exceptions
from botocore.config import Config

from ..config.types import Settings
from ..provision.policies import parse
from .errors import missing, unsupported

def iam_client(settings: Settings):
    """An IAM client with ``settings``' keys (give it the admin settings)."""
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    region = settings.region if settings.endpoint_url else "us-east-1"
    return boto3.session.Session().client(
        "iam", endpoint_url=settings.endpoint_url, region_name=region, config=config,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key.reveal())


def _or_none(call):
    try:
        return call()
    except botocore.exceptions.ClientError as error:
        if missing(error):
            return None
        raise


def user_exists(client, user: str) -> bool:
    return _or_none(lambda: client.get_user(UserName=user)) is not None


def group_exists(client, group: str) -> bool:
    """Raises the store's ClientError when groups are unsupported (see :func:`unsupported`)."""
    return _or_none(lambda: client.get_group(GroupName=group)) is not None


def groups_of(client, user: str) -> list[str]:
    groups = client.list_groups_for_user(UserName=user).get("Groups", [])
    return sorted(group["GroupName"] for group in groups)


def user_policy(client, user: str, name: str) -> dict | None:
    answer = _or_none(lambda: client.get_user_policy(UserName=user, PolicyName=name))
    return parse(answer["PolicyDocument"]) if answer else None


def group_policy(client, group: str, name: str) -> dict | None:
    answer = _or_none(lambda: client.get_group_policy(GroupName=group, PolicyName=name))
    return parse(answer["PolicyDocument"]) if answer else None


def inline_policy_names(client, kind: str, name: str) -> list[str]:
    if kind == "user":
        return sorted(client.list_user_policies(UserName=name).get("PolicyNames", []))
    return sorted(client.list_group_policies(GroupName=name).get("PolicyNames", []))


def attached_policy_names(client, kind: str, name: str) -> list[str]:
    """Managed policies attached to a user or group; [] where the store has none."""
    try:
        if kind == "user":
            answer = client.list_attached_user_policies(UserName=name)
        else:
            answer = client.list_attached_group_policies(GroupName=name)
    except botocore.exceptions.ClientError as error:
        if unsupported(error) or missing(error):
            return []
        raise
    return sorted(policy["PolicyName"] for policy in answer.get("AttachedPolicies", []))


def access_key_ids(client, user: str) -> list[str]:
    keys = client.list_access_keys(UserName=user).get("AccessKeyMetadata", [])
    return sorted(key["AccessKeyId"] for key in keys)


def create_access_key(client, user: str) -> tuple[str, str]:
    """(key id, secret) of a new key; the secret is returned once, never logged here."""
    key = client.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def delete_quietly(call) -> bool:
    """Run a delete; False when there was nothing to delete."""
    try:
        call()
        return True
    except botocore.exceptions.ClientError as error:
        if missing(error):
            return False
        raise
