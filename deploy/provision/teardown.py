"""`invoke teardown-provision`: remove what provision made (sandboxes and rehearsals only).

Reads ``runs/provision-<env>.json`` (``deploy.provision.record``) and refuses
production before touching anything.  Keys, the user and the group go when
provision made them (without a record, what carries provision's names counts
as provision's); a bucket provision created goes with its objects unless it
holds others; an adopted bucket stays and gets back the settings it had
before; the secrets file goes back to what it was before provision.
"""

from __future__ import annotations

import botocore.exceptions

from ..config import credentials
from ..config.types import Settings
from ..errors import ProvisionError
from ..store import bucket_admin, iam
from ..store.client import s3_client
from ..store.errors import store_errors, unsupported
from . import policies
from .desired import desired_for, names_for
from .plan import State
from .record import read_record, record_path


def run_teardown(settings: Settings, admin: Settings, dry_run: bool = False) -> list[str]:
    """Remove what provision created (runs/provision-<env>.json); refuses production.

    Returns what was (or, with ``dry_run``, would be) removed, one line each.
    """
    if settings.production:
        raise ProvisionError(f"environment {settings.env} is production (PRODUCTION=true): "
                             "teardown-provision is for sandboxes and rehearsals only")
    record = read_record(settings)
    if record and record.get("bucket") != settings.bucket:
        raise ProvisionError(f"runs/provision-{settings.env}.json records bucket {record.get('bucket')}, "
                             f"but the environment's bucket is {settings.bucket}: restore "
                             "AWS_STORAGE_BUCKET_NAME or remove the record")
    s3, iam_api = s3_client(admin), iam.iam_client(admin)
    with store_errors(settings, "removing the IAM user and group"):
        done, deleted_keys = _teardown_iam(settings, iam_api, record, dry_run)
    if not dry_run:
        # At once, and also for the keys an interrupted earlier run deleted: a secrets file
        # holding a deleted key would fail every later command.
        done += _restore_secrets(settings, deleted_keys + record.get("keys", []))
    with store_errors(settings, f"removing bucket {settings.bucket}'s settings"):
        done += _teardown_bucket(settings, s3, record, dry_run)
    if not dry_run:
        record_path(settings).unlink(missing_ok=True)
    return done or ["nothing to remove"]


def _teardown_iam(settings: Settings, iam_api, record: dict, dry_run: bool) -> tuple[list[str], list[str]]:
    names = names_for(settings.env)
    created = record.get("created", {})
    # Without a record, what carries provision's names counts as provision's.
    ours_user, ours_group = created.get("user", not record), created.get("group", not record)
    done: list[str] = []
    deleted_keys: list[str] = []

    def remove(what: str, call) -> None:
        if dry_run:
            done.append(f"would remove {what}")
        elif iam.delete_quietly(call):
            done.append(f"removed {what}")

    try:
        group_exists = iam.group_exists(iam_api, names.group)
    except botocore.exceptions.ClientError as error:
        if not unsupported(error):
            raise
        group_exists = False
    if iam.user_exists(iam_api, names.user):
        keys = iam.access_key_ids(iam_api, names.user)
        for key in keys if ours_user else [key for key in keys if key in record.get("keys", [])]:
            deleted_keys.append(key)
            remove(f"access key {key}", lambda key=key: iam_api.delete_access_key(UserName=names.user,
                                                                                   AccessKeyId=key))
        if group_exists and (ours_user or ours_group) and names.group in iam.groups_of(iam_api, names.user):
            remove(f"{names.user} from group {names.group}",
                   lambda: iam_api.remove_user_from_group(GroupName=names.group, UserName=names.user))
        if names.policy in iam.inline_policy_names(iam_api, "user", names.user):
            remove(f"user policy {names.policy}",
                   lambda: iam_api.delete_user_policy(UserName=names.user, PolicyName=names.policy))
        if ours_user:
            remove(f"IAM user {names.user}", lambda: iam_api.delete_user(UserName=names.user))
    if group_exists:
        if names.policy in iam.inline_policy_names(iam_api, "group", names.group):
            remove(f"group policy {names.policy}",
                   lambda: iam_api.delete_group_policy(GroupName=names.group, PolicyName=names.policy))
        if ours_group:
            remove(f"IAM group {names.group}", lambda: iam_api.delete_group(GroupName=names.group))
    return done, deleted_keys


def _teardown_bucket(settings: Settings, s3, record: dict, dry_run: bool) -> list[str]:
    bucket = settings.bucket
    if bucket_admin.bucket_state(s3, settings) == "absent":
        return []
    if not record:
        return [f"kept bucket {bucket} and its settings: runs/provision-{settings.env}.json records "
                "nothing provision made there"]
    if record.get("created", {}).get("bucket"):
        keys = bucket_admin.keys_under(s3, bucket)
        outside = [key for key in keys if not key.startswith(settings.media_prefix + "/")]
        if outside:
            return [f"kept bucket {bucket}: it holds {len(outside)} object(s) outside {settings.media_prefix}/ "
                    f"(e.g. {outside[0]}) that provision did not put there"]
        if dry_run:
            return [f"would remove bucket {bucket} and its {len(keys)} object(s) under {settings.media_prefix}/"]
        bucket_admin.delete_keys(s3, bucket, keys)
        s3.delete_bucket(Bucket=bucket)
        return [f"removed bucket {bucket} ({len(keys)} object(s) under {settings.media_prefix}/)"]
    done = _restore_adopted(settings, s3, record.get("before", {}), dry_run)
    done.append(f"kept bucket {bucket}: provision adopted it, did not create it")
    return done


def _restore_adopted(settings: Settings, s3, before: dict, dry_run: bool) -> list[str]:
    """An adopted bucket's policy, Block Public Access and ownership back as they were.

    The order matters on AWS: a public policy is refused while BlockPublicPolicy
    is on, and takes effect once RestrictPublicBuckets is off.  So a policy the
    bucket had goes back while the switches are as the bucket had them but for
    BlockPublicPolicy (off, so that the store takes it); then the switches
    exactly.  No moment shows more than before provision or after it.
    """
    bucket = settings.bucket
    block = before.get("access_block", {"value": State.UNSUPPORTED})["value"]
    restores_block = block != State.UNSUPPORTED
    done: list[str] = []
    staged = _NOTHING                     # the switches as set for the policy's sake
    previous = _policy_to_restore(settings, s3, before, done)
    if previous is not _NOTHING and dry_run:
        done.append(f"would restore the bucket policy of {bucket}")
    elif previous is not _NOTHING:
        if previous is None:
            bucket_admin.delete_bucket_policy(s3, bucket)
        else:
            if restores_block:
                staged = _accepting_policies(block)
                bucket_admin.put_public_access_block(s3, bucket, staged)
            bucket_admin.put_bucket_policy(s3, bucket, previous)
        done.append(f"restored the bucket policy of {bucket} to what it was before provision")
    if restores_block:
        if dry_run:
            done.append(f"would restore Block Public Access of {bucket}")
        else:
            if staged != block:
                bucket_admin.put_public_access_block(s3, bucket, block)
            done.append(f"restored Block Public Access of {bucket}")
    return done + _restore_ownership(settings, s3, before, dry_run)


_NOTHING = object()   # no bucket policy to put back


def _policy_to_restore(settings: Settings, s3, before: dict, done: list[str]):
    """The policy the bucket had (None: none), or _NOTHING when it is not to be put back."""
    bucket = settings.bucket
    if "bucket_policy" not in before:
        return _NOTHING
    if not policies.same(bucket_admin.bucket_policy(s3, bucket), desired_for(settings).bucket_policy):
        done.append(f"kept the bucket policy of {bucket}: it changed since provision set it")
        return _NOTHING
    return before["bucket_policy"]["value"]


def _accepting_policies(block: dict | None) -> dict | None:
    """``block`` with BlockPublicPolicy off: the store takes a public policy, RestrictPublicBuckets as it was."""
    return None if block is None else {**block, "BlockPublicPolicy": False}


def _restore_ownership(settings: Settings, s3, before: dict, dry_run: bool) -> list[str]:
    bucket = settings.bucket
    if "ownership" not in before or before["ownership"]["value"] == State.UNSUPPORTED:
        return []
    if dry_run:
        return [f"would restore Object Ownership of {bucket}"]
    bucket_admin.put_ownership(s3, bucket, before["ownership"]["value"])
    return [f"restored Object Ownership of {bucket}"]


def _restore_secrets(settings: Settings, deleted_keys: list[str]) -> list[str]:
    """The secrets file back as before provision, if it still holds a key just deleted."""
    on_file = credentials.key_on_file(settings)
    if on_file is None or on_file[0] not in deleted_keys:
        return []
    path, backup = credentials.secrets_path(settings), credentials.backup_path(settings)
    if backup.is_file():
        credentials.write_private(path, backup.read_text(encoding="utf-8"))
        backup.unlink()
        return [f"restored config/{settings.env}.secrets.env as it was before provision"]
    rest = credentials.drop_key_lines(path.read_text(encoding="utf-8"))
    if rest.strip() and not all(line.startswith("#") for line in rest.strip().splitlines()):
        credentials.write_private(path, rest)
    else:
        path.unlink()
    return [f"removed the deleted key from config/{settings.env}.secrets.env"]
