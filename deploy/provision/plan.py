"""What `invoke provision` should make, what the store holds, and the steps between: pure.

:func:`desired_for` reads what the environment needs from its settings;
:class:`Observed` is what the store holds (read by ``deploy.provision.observe``);
:func:`plan` compares the two, plain data in, a list of :class:`Step` out, and
:func:`render_plan` shows them as a table.  A policy that exists but says
something else is *drifted*: shown as a diff and replaced only with
``--replace-drifted``.

Names (fixed, derived from the environment, so a second run finds what the
first made): IAM user and group ``media-cutover-<env>``, inline policy
``media-cutover-media-writer`` on the group (on the user where the store has
no IAM groups).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cli import table
from ..config.types import Settings
from ..store import bucket_admin
from . import policies

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
    access_block: dict | str | None = None     # or bucket_admin.UNSUPPORTED
    ownership: str | None = None               # or bucket_admin.UNSUPPORTED
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
    if observed.access_block == bucket_admin.UNSUPPORTED:
        steps.append(Step("block public access", block, UNSUPPORTED,
                          note="the store has no Block Public Access"))
    elif observed.access_block == desired.access_block:
        steps.append(Step("block public access", block, IN_PLACE))
    else:
        was = _describe_block(observed.access_block) if observed.access_block else "not set"
        steps.append(Step("block public access", block, CHANGE, "put_access_block", note=f"was: {was}"))
    if observed.ownership == bucket_admin.UNSUPPORTED:
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
