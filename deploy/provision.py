"""`invoke provision`: the bucket, its public-read policy and a least-privilege IAM user.

Converge, as invocations' release tasks do: inspect the store (:func:`observe`),
compare with what the environment needs (:func:`plan`, pure: plain data in, a
list of :class:`Step` out), act only on what is not in place, inspect again.
A policy that exists but says something else is *drifted*: shown as a diff and
replaced only with ``--replace-drifted``.

Names (fixed, derived from the environment, so a second run finds what the
first made): IAM user and group ``media-cutover-<env>``, inline policy
``media-cutover-media-writer`` on the group (on the user where the store has
no IAM groups).

What was created or changed is recorded in ``runs/provision-<env>.json`` so that
`invoke teardown-provision` (sandboxes and rehearsals) removes exactly that.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import botocore.exceptions

from . import credentials, iam, policies, store_admin
from .cli import table
from .config import Settings
from .errors import ProvisionError
from .provision_check import verify
from .s3 import s3_client

POLICY_NAME = "media-cutover-media-writer"

# Step states.
IN_PLACE = "in place"
CREATE = "create"
CHANGE = "change"
DRIFTED = "drifted"
REPLACE = "replace"
UNSUPPORTED = "unsupported"
BLOCKED = "blocked"
ACTING = (CREATE, CHANGE, REPLACE)


@dataclass(frozen=True)
class Names:
    user: str
    group: str
    policy: str = POLICY_NAME


def names_for(env: str) -> Names:
    return Names(user=f"media-cutover-{env}", group=f"media-cutover-{env}")


@dataclass(frozen=True)
class Desired:
    """What the environment needs, from its settings."""

    bucket: str
    region: str
    prefix: str
    names: Names
    bucket_policy: dict | None      # None: media are not public, no bucket policy
    access_block: dict
    ownership: str
    writer_policy: dict


def desired_for(settings: Settings) -> Desired:
    public = settings.public_media
    return Desired(
        bucket=settings.bucket, region=settings.region, prefix=settings.media_prefix,
        names=names_for(settings.env),
        bucket_policy=policies.public_read_policy(settings.bucket, settings.media_prefix) if public else None,
        access_block=policies.PUBLIC_POLICY_ACCESS_BLOCK if public else policies.PRIVATE_ACCESS_BLOCK,
        ownership=policies.OWNERSHIP,
        writer_policy=policies.writer_policy(settings.bucket, settings.media_prefix))


@dataclass(frozen=True)
class Observed:
    """What the store holds now (plain data; see :func:`observe`)."""

    bucket: bool = False
    bucket_policy: dict | None = None
    access_block: dict | str | None = None     # or store_admin.UNSUPPORTED
    ownership: str | None = None               # or store_admin.UNSUPPORTED
    groups_supported: bool = True
    group: bool = False
    group_policy: dict | None = None
    user: bool = False
    member: bool = False
    user_policy: dict | None = None
    keys: tuple[str, ...] = ()
    key_on_file: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One thing provision makes, and where it stands."""

    thing: str
    target: str
    state: str
    op: str | None = None   # the adapter operation that puts it in place
    diff: str = ""
    note: str = ""

    @property
    def acts(self) -> bool:
        return self.state in ACTING


# --- the plan: pure --------------------------------------------------------------------------

def plan(desired: Desired, observed: Observed, replace_drifted: bool = False) -> list[Step]:
    """Every step in the order it must be taken, each with its state."""
    names = desired.names
    steps = [_bucket_step(desired, observed)]
    steps += _bucket_settings_steps(desired, observed, replace_drifted)
    if observed.groups_supported:
        steps.append(Step("IAM group", names.group, IN_PLACE if observed.group else CREATE, "create_group"))
        steps.append(_policy_step("group policy", f"{names.group}/{names.policy}",
                                  observed.group_policy if observed.group else None,
                                  desired.writer_policy, "put_group_policy", replace_drifted))
        steps.append(Step("IAM user", names.user, IN_PLACE if observed.user else CREATE, "create_user"))
        steps.append(Step("group member", f"{names.user} in {names.group}",
                          IN_PLACE if observed.member else CREATE, "add_to_group"))
    else:
        steps.append(Step("IAM group", names.group, UNSUPPORTED,
                          note="the store has no IAM groups: the policy goes on the user"))
        steps.append(Step("IAM user", names.user, IN_PLACE if observed.user else CREATE, "create_user"))
        steps.append(_policy_step("user policy", f"{names.user}/{names.policy}",
                                  observed.user_policy if observed.user else None,
                                  desired.writer_policy, "put_user_policy", replace_drifted))
    steps.append(_key_step(desired, observed))
    return steps


def _bucket_step(desired: Desired, observed: Observed) -> Step:
    target = f"{desired.bucket} ({desired.region})"
    return Step("bucket", target, IN_PLACE if observed.bucket else CREATE, "create_bucket")


def _bucket_settings_steps(desired: Desired, observed: Observed, replace_drifted: bool) -> list[Step]:
    block = _describe_block(desired.access_block)
    if not observed.bucket:
        return [Step("block public access", block, CHANGE, "put_access_block", note="where the store supports it"),
                Step("object ownership", desired.ownership, CHANGE, "put_ownership",
                     note="where the store supports it"),
                _policy_step("bucket policy", _describe_bucket_policy(desired), None,
                             desired.bucket_policy, "put_bucket_policy", replace_drifted)]
    steps = []
    if observed.access_block == store_admin.UNSUPPORTED:
        steps.append(Step("block public access", block, UNSUPPORTED,
                          note="the store has no Block Public Access"))
    elif observed.access_block == desired.access_block:
        steps.append(Step("block public access", block, IN_PLACE))
    else:
        was = _describe_block(observed.access_block) if observed.access_block else "not set"
        steps.append(Step("block public access", block, CHANGE, "put_access_block", note=f"was: {was}"))
    if observed.ownership == store_admin.UNSUPPORTED:
        steps.append(Step("object ownership", desired.ownership, UNSUPPORTED,
                          note="the store has no Object Ownership"))
    elif observed.ownership == desired.ownership:
        steps.append(Step("object ownership", desired.ownership, IN_PLACE))
    else:
        # Enforcing ownership disables ACLs an adopted bucket may rely on: only on request.
        diff = (f"--- object ownership (now)\n+++ object ownership (provision)\n"
                f"-{observed.ownership or 'not set (ObjectWriter)'}\n+{desired.ownership}\n")
        steps.append(Step("object ownership", desired.ownership, REPLACE if replace_drifted else DRIFTED,
                          "put_ownership", diff=diff))
    steps.append(_policy_step("bucket policy", _describe_bucket_policy(desired), observed.bucket_policy,
                              desired.bucket_policy, "put_bucket_policy", replace_drifted))
    return steps


def _policy_step(thing: str, target: str, observed: dict | None, desired: dict | None, op: str,
                 replace_drifted: bool) -> Step:
    if policies.same(observed, desired):
        return Step(thing, target, IN_PLACE)
    if observed is None:
        return Step(thing, target, CREATE, op)
    diff = policies.policy_diff(observed, desired, thing)
    return Step(thing, target, REPLACE if replace_drifted else DRIFTED, op, diff=diff)


def _key_step(desired: Desired, observed: Observed) -> Step:
    user = desired.names.user
    if observed.user and observed.key_on_file in observed.keys:
        return Step("access key", f"{observed.key_on_file} (on file)", IN_PLACE)
    if observed.user and len(observed.keys) >= 2:
        return Step("access key", f"user {user}", BLOCKED,
                    note=f"user {user} already has two access keys ({', '.join(observed.keys)}), neither in "
                         "the secrets file: delete one of them (IAM), or put its id and secret in the "
                         "secrets file, then re-run")
    note = f"the key in the secrets file is not {user}'s" if observed.key_on_file else ""
    return Step("access key", f"new key for {user}", CREATE, "create_key", note=note)


def _describe_block(block) -> str:
    if not isinstance(block, dict):
        return str(block)
    if block == policies.PUBLIC_POLICY_ACCESS_BLOCK:
        return "blocks public ACLs, allows a public policy"
    if block == policies.PRIVATE_ACCESS_BLOCK:
        return "blocks all public access"
    on = [name for name in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
          if block.get(name)]
    return "blocks " + (", ".join(on) if on else "nothing")


def _describe_bucket_policy(desired: Desired) -> str:
    if desired.bucket_policy is None:
        return "none (PUBLIC_MEDIA=false)"
    return f"anyone may GET {desired.prefix}/*"


def state_word(step: Step, done: bool = False) -> str:
    words = {IN_PLACE: "already in place", UNSUPPORTED: "skipped",
             DRIFTED: "DRIFTED: see the diff; --replace-drifted replaces it", BLOCKED: "BLOCKED",
             CREATE: "created" if done else "to create", CHANGE: "set" if done else "to set",
             REPLACE: "replaced" if done else "to replace"}
    return words[step.state]


def render_plan(steps: list[Step], done: bool = False) -> str:
    rows = [(step.thing, step.target, state_word(step, done) + (f" ({step.note})" if step.note else ""))
            for step in steps]
    return table(("THING", "NAME", "STATE"), rows)


# --- the record of what provision made ---------------------------------------------------------

def record_path(settings: Settings) -> Path:
    return settings.project_root / "runs" / f"provision-{settings.env}.json"


def read_record(settings: Settings) -> dict:
    path = record_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_record(settings: Settings, record: dict) -> None:
    path = record_path(settings)
    path.parent.mkdir(exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


# --- inspect the store ---------------------------------------------------------------------------

def observe(s3, iam_api, settings: Settings, desired: Desired) -> Observed:
    """Read everything :func:`plan` compares; reads only."""
    names = desired.names
    values: dict = {}
    with store_errors(settings, f"reading bucket {settings.bucket}"):
        values["bucket"] = store_admin.bucket_state(s3, settings) == "present"
        if values["bucket"]:
            if not settings.endpoint_url:
                region = store_admin.bucket_region(s3, settings)
                if region != settings.region:
                    raise ProvisionError(f"bucket {settings.bucket} is in region {region}, not in "
                                         f"AWS_S3_REGION_NAME={settings.region}: fix AWS_S3_REGION_NAME")
            values["bucket_policy"] = store_admin.bucket_policy(s3, settings.bucket)
            values["access_block"] = store_admin.public_access_block(s3, settings.bucket)
            values["ownership"] = store_admin.ownership(s3, settings.bucket)
    warnings = []
    with store_errors(settings, "reading the IAM user and group"):
        try:
            values["group"] = iam.group_exists(iam_api, names.group)
        except botocore.exceptions.ClientError as error:
            if not iam.unsupported(error):
                raise
            values["groups_supported"] = False
        if values.get("group"):
            values["group_policy"] = iam.group_policy(iam_api, names.group, names.policy)
            warnings += _foreign_policies(iam_api, "group", names.group, names.policy)
        values["user"] = iam.user_exists(iam_api, names.user)
        if values["user"]:
            if values.get("groups_supported", True):
                groups = iam.groups_of(iam_api, names.user)
                values["member"] = names.group in groups
                warnings += [f"user {names.user} is also in group {group}, whose rights it has too: "
                             "remove it from that group for least privilege"
                             for group in groups if group != names.group]
            values["user_policy"] = iam.user_policy(iam_api, names.user, names.policy)
            warnings += _foreign_policies(iam_api, "user", names.user, names.policy)
            values["keys"] = tuple(iam.access_key_ids(iam_api, names.user))
    on_file = credentials.key_on_file(settings)
    values["key_on_file"] = on_file[0] if on_file else None
    extra = [key for key in values.get("keys", ()) if key != values["key_on_file"]]
    if extra and values["key_on_file"] in values.get("keys", ()):
        warnings.append(f"user {names.user} has another access key {', '.join(extra)} not in the secrets "
                        "file: delete it if nothing uses it")
    values["warnings"] = tuple(warnings)
    return Observed(**values)


def _foreign_policies(iam_api, kind: str, name: str, ours: str) -> list[str]:
    inline = [policy for policy in iam.inline_policy_names(iam_api, kind, name) if policy != ours]
    attached = iam.attached_policy_names(iam_api, kind, name)
    return [f"{kind} {name} also has policy {policy}, not made by provision: remove it for least privilege"
            for policy in [*inline, *attached]]


ADMIN_ADVICE = {
    "AccessDenied": "the admin key may not do this",
    "InvalidClientTokenId": "the store does not know the admin key",
    "InvalidAccessKeyId": "the store does not know the admin key",
    "SignatureDoesNotMatch": "the admin secret does not match the admin key id",
}


@contextmanager
def store_errors(settings: Settings, what: str) -> Iterator[None]:
    """The store's refusal or absence as one operator-facing line (never a key or secret)."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        code = iam.error_code(error)
        advice = ADMIN_ADVICE.get(code) or _message(error)
        raise ProvisionError(f"{what} failed ({code}): {advice}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise ProvisionError(f"{what} failed: cannot reach {settings.endpoint_url or 'AWS'} "
                             f"({type(error).__name__})") from None


# --- act -----------------------------------------------------------------------------------------

@dataclass
class Provisioner:
    """One run: the admin clients, the desired state, and the record of what was made.

    Each ``_op`` method puts one step in place and notes in the record what it
    created (or what it changed, with the value before) for teardown-provision.
    """

    settings: Settings
    admin: Settings
    desired: Desired = field(init=False)
    s3: object = field(init=False)
    iam_api: object = field(init=False)

    def __post_init__(self):
        self.desired = desired_for(self.settings)
        self.s3 = s3_client(self.admin)
        self.iam_api = iam.iam_client(self.admin)

    def observe(self) -> Observed:
        return observe(self.s3, self.iam_api, self.settings, self.desired)

    def apply(self, step: Step, observed: Observed) -> str:
        """Do one step; returns 'set', a new key's id, or store_admin.UNSUPPORTED."""
        record = read_record(self.settings)
        record.update(env=self.settings.env, bucket=self.desired.bucket, prefix=self.desired.prefix,
                      names={"user": self.desired.names.user, "group": self.desired.names.group,
                             "policy": self.desired.names.policy})
        record.setdefault("created", {})
        record.setdefault("before", {})
        try:
            with store_errors(self.settings, f"{step.thing} {step.target}: {step.op}"):
                return getattr(self, f"_{step.op}")(record, observed)
        finally:
            write_record(self.settings, record)

    def _remember(self, record: dict, what: str, value, observed: Observed) -> None:
        """Keep the value an adopted bucket had before provision first changed it."""
        if observed.bucket and not record["created"].get("bucket") and what not in record["before"]:
            record["before"][what] = {"value": value}

    def _create_bucket(self, record: dict, observed: Observed) -> str:
        store_admin.create_bucket(self.s3, self.settings)
        record["created"]["bucket"] = True
        return "set"

    def _put_access_block(self, record: dict, observed: Observed) -> str:
        self._remember(record, "access_block", observed.access_block, observed)
        return store_admin.put_public_access_block(self.s3, self.desired.bucket, self.desired.access_block)

    def _put_ownership(self, record: dict, observed: Observed) -> str:
        self._remember(record, "ownership", observed.ownership, observed)
        return store_admin.put_ownership(self.s3, self.desired.bucket, self.desired.ownership)

    def _put_bucket_policy(self, record: dict, observed: Observed) -> str:
        self._remember(record, "bucket_policy", observed.bucket_policy, observed)
        if self.desired.bucket_policy is None:
            store_admin.delete_bucket_policy(self.s3, self.desired.bucket)
        else:
            store_admin.put_bucket_policy(self.s3, self.desired.bucket, self.desired.bucket_policy)
        return "set"

    def _create_group(self, record: dict, observed: Observed) -> str:
        self.iam_api.create_group(GroupName=self.desired.names.group)
        record["created"]["group"] = True
        return "set"

    def _put_group_policy(self, record: dict, observed: Observed) -> str:
        names = self.desired.names
        self.iam_api.put_group_policy(GroupName=names.group, PolicyName=names.policy,
                                      PolicyDocument=json.dumps(self.desired.writer_policy))
        return "set"

    def _create_user(self, record: dict, observed: Observed) -> str:
        self.iam_api.create_user(UserName=self.desired.names.user)
        record["created"]["user"] = True
        return "set"

    def _add_to_group(self, record: dict, observed: Observed) -> str:
        self.iam_api.add_user_to_group(GroupName=self.desired.names.group, UserName=self.desired.names.user)
        return "set"

    def _put_user_policy(self, record: dict, observed: Observed) -> str:
        names = self.desired.names
        self.iam_api.put_user_policy(UserName=names.user, PolicyName=names.policy,
                                     PolicyDocument=json.dumps(self.desired.writer_policy))
        return "set"

    def _create_key(self, record: dict, observed: Observed) -> str:
        key_id, secret = iam.create_access_key(self.iam_api, self.desired.names.user)
        record.setdefault("keys", []).append(key_id)
        write_record(self.settings, record)  # the key exists now, whatever happens next
        credentials.store_deploy_key(self.settings, key_id, secret)
        return key_id


def _message(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Message", "") or type(error).__name__


@dataclass(frozen=True)
class ProvisionOptions:
    dry_run: bool = False
    replace_drifted: bool = False
    check: bool = True
    propagation_timeout: float = 30.0


def run_provision(settings: Settings, admin: Settings, options: ProvisionOptions,
                  say: Callable[[str], None] = print) -> list[Step]:
    """Inspect, show the plan, act on what is not in place, inspect again, check with the key."""
    run = Provisioner(settings, admin)
    observed = run.observe()
    steps = plan(run.desired, observed, options.replace_drifted)
    say(f"provision {settings.env}: bucket {settings.bucket} at {settings.endpoint_url or 'AWS'}, "
        f"prefix {settings.media_prefix}/")
    say(render_plan(steps))
    for step in steps:
        if step.diff:
            say(step.diff.rstrip("\n"))
    for warning in observed.warnings:
        say(f"warning: {warning}")
    blocked = [step for step in steps if step.state == BLOCKED]
    if blocked:
        raise ProvisionError(blocked[0].note)
    if options.dry_run:
        say(f"dry run: nothing changed; {sum(step.acts for step in steps)} step(s) would act")
        return steps
    for step in steps:
        if not step.acts:
            continue
        result = run.apply(step, observed)
        if step.op == "create_key":
            say(f"{step.thing}: created {result} for {run.desired.names.user}; written to "
                f"config/{settings.env}.secrets.env (mode 600); the secret is not shown")
        elif result == store_admin.UNSUPPORTED:
            say(f"{step.thing}: skipped (the store does not support it)")
        else:
            say(f"{step.thing} {step.target}: {state_word(step, done=True)}")
    if all(step.state in (IN_PLACE, UNSUPPORTED) for step in steps):
        say("nothing to do: every part is already in place")
    # Inspect again: what should now be in place must be.
    after = plan(run.desired, run.observe(), replace_drifted=False)
    missing = [step for step in after if step.state in (CREATE, CHANGE, BLOCKED)]
    if missing:
        raise ProvisionError("still not in place after provisioning: "
                             + "; ".join(f"{step.thing} {step.target}" for step in missing))
    drifted = [step for step in after if step.state == DRIFTED]
    if drifted:
        raise ProvisionError(", ".join(step.thing for step in drifted) + " drifted (diff above) and left "
                             "as is: re-run with --replace-drifted to replace; the key was not checked")
    for variable in credentials.environment_overrides():
        say(f"warning: {variable} is set in this shell and overrides config/{settings.env}.secrets.env "
            "for every other command: unset it to use the provisioned key")
    if options.check:
        on_file = credentials.key_on_file(settings)
        if on_file is None:
            raise ProvisionError(f"config/{settings.env}.secrets.env holds no complete deploy key to check")
        verify(credentials.with_key(settings, *on_file), admin, say, options.propagation_timeout)
    return after


# --- teardown --------------------------------------------------------------------------------------

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
    with store_errors(settings, f"removing bucket {settings.bucket}'s settings"):
        done += _teardown_bucket(settings, s3, record, dry_run)
    if not dry_run:
        done += _restore_secrets(settings, deleted_keys)
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
        if not iam.unsupported(error):
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
    if store_admin.bucket_state(s3, settings) == "absent":
        return []
    if not record:
        return [f"kept bucket {bucket} and its settings: runs/provision-{settings.env}.json records "
                "nothing provision made there"]
    if record.get("created", {}).get("bucket"):
        keys = store_admin.keys_under(s3, bucket)
        outside = [key for key in keys if not key.startswith(settings.media_prefix + "/")]
        if outside:
            return [f"kept bucket {bucket}: it holds {len(outside)} object(s) outside {settings.media_prefix}/ "
                    f"(e.g. {outside[0]}) that provision did not put there"]
        if dry_run:
            return [f"would remove bucket {bucket} and its {len(keys)} object(s) under {settings.media_prefix}/"]
        store_admin.delete_keys(s3, bucket, keys)
        s3.delete_bucket(Bucket=bucket)
        return [f"removed bucket {bucket} ({len(keys)} object(s) under {settings.media_prefix}/)"]
    done = []
    before = record.get("before", {})
    desired = desired_for(settings)
    if "bucket_policy" in before:
        now = store_admin.bucket_policy(s3, bucket)
        if not policies.same(now, desired.bucket_policy):
            done.append(f"kept the bucket policy of {bucket}: it changed since provision set it")
        elif dry_run:
            done.append(f"would restore the bucket policy of {bucket}")
        else:
            previous = before["bucket_policy"]["value"]
            if previous is None:
                store_admin.delete_bucket_policy(s3, bucket)
            else:
                store_admin.put_bucket_policy(s3, bucket, previous)
            done.append(f"restored the bucket policy of {bucket} to what it was before provision")
    if "access_block" in before and before["access_block"]["value"] != store_admin.UNSUPPORTED:
        if dry_run:
            done.append(f"would restore Block Public Access of {bucket}")
        else:
            store_admin.put_public_access_block(s3, bucket, before["access_block"]["value"])
            done.append(f"restored Block Public Access of {bucket}")
    if "ownership" in before and before["ownership"]["value"] != store_admin.UNSUPPORTED:
        if dry_run:
            done.append(f"would restore Object Ownership of {bucket}")
        else:
            store_admin.put_ownership(s3, bucket, before["ownership"]["value"])
            done.append(f"restored Object Ownership of {bucket}")
    done.append(f"kept bucket {bucket}: provision adopted it, did not create it")
    return done


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

