"""What the store holds against what `invoke provision` should make, and the changes between: pure.

:class:`Observed` is what the store holds (read by ``deploy.provision.observe``);
:func:`plan` compares it with the :class:`~deploy.provision.desired.Desired`
state, plain data in, a list of :class:`Change` out, each in one
:class:`State`; :func:`plan_rows` gives the table ``deploy.provision.apply``
shows.  A policy that exists but says something else is *drifted*: shown as a
diff and replaced only with ``--replace-drifted``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from . import policies
from .desired import Desired

class State(StrEnum):
    """Where one thing provision makes stands."""

    IN_PLACE = "in place"
    CREATE = "create"
    CHANGE = "change"
    DRIFTED = "drifted"         # exists but says something else: replaced only with --replace-drifted
    REPLACE = "replace"         # drifted, and --replace-drifted was given
    UNSUPPORTED = "unsupported"  # the store has no such API (also what the store adapters answer then)
    BLOCKED = "blocked"
    HELD = "held"               # would act, but not while another change stays drifted
    REMOVE = "remove"


ACTING = (State.CREATE, State.CHANGE, State.REPLACE, State.REMOVE)


@dataclass(frozen=True)
class Observed:
    """What the store holds now (plain data; see :func:`observe`)."""

    bucket: bool = False
    bucket_policy: dict | None = None
    access_block: dict | str | None = None     # or State.UNSUPPORTED (the store has none)
    ownership: str | None = None               # or State.UNSUPPORTED (the store has none)
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
class Change:
    """One thing provision makes, and where it stands."""

    thing: str
    target: str
    state: State
    op: str | None = None   # the adapter operation that puts it in place
    diff: str = ""
    note: str = ""

    @property
    def acts(self) -> bool:
        return self.state in ACTING


def plan(desired: Desired, observed: Observed, replace_drifted: bool = False) -> list[Change]:
    """Every change in the order it must be made, each in its state."""
    names = desired.names
    changes = [_bucket_change(desired, observed)]
    changes += _bucket_settings_changes(desired, observed, replace_drifted)
    if observed.groups_supported:
        changes.append(Change("IAM group", names.group, _in_place_or_create(observed.group), "create_group"))
        changes.append(_policy_change("group policy", f"{names.group}/{names.policy}",
                                      observed.group_policy if observed.group else None,
                                      desired.writer_policy, "put_group_policy", replace_drifted))
        changes.append(Change("IAM user", names.user, _in_place_or_create(observed.user), "create_user"))
        changes.append(Change("group member", f"{names.user} in {names.group}",
                              State.IN_PLACE if observed.member else State.CREATE, "add_to_group"))
    else:
        changes.append(Change("IAM group", names.group, State.UNSUPPORTED,
                              note="the store has no IAM groups: the policy goes on the user"))
        changes.append(Change("IAM user", names.user, _in_place_or_create(observed.user), "create_user"))
        changes.append(_policy_change("user policy", f"{names.user}/{names.policy}",
                                      observed.user_policy if observed.user else None,
                                      desired.writer_policy, "put_user_policy", replace_drifted))
    changes.append(_key_change(desired, observed))
    return changes


def _bucket_change(desired: Desired, observed: Observed) -> Change:
    target = f"{desired.bucket} ({desired.region})"
    return Change("bucket", target, _in_place_or_create(observed.bucket), "create_bucket")


def _bucket_settings_changes(desired: Desired, observed: Observed, replace_drifted: bool) -> list[Change]:
    block = _describe_block(desired.access_block)
    if not observed.bucket:
        return [Change("block public access", block, State.CHANGE, "put_access_block",
                       note="where the store supports it"),
                Change("object ownership", desired.ownership, State.CHANGE, "put_ownership",
                       note="where the store supports it"),
                _policy_change("bucket policy", _describe_bucket_policy(desired), None,
                               desired.bucket_policy, "put_bucket_policy", replace_drifted)]
    changes = []
    if observed.access_block == State.UNSUPPORTED:
        changes.append(Change("block public access", block, State.UNSUPPORTED,
                              note="the store has no Block Public Access"))
    elif observed.access_block == desired.access_block:
        changes.append(Change("block public access", block, State.IN_PLACE))
    else:
        was = _describe_block(observed.access_block) if observed.access_block else "not set"
        changes.append(Change("block public access", block, State.CHANGE, "put_access_block", note=f"was: {was}"))
    if observed.ownership == State.UNSUPPORTED:
        changes.append(Change("object ownership", desired.ownership, State.UNSUPPORTED,
                              note="the store has no Object Ownership"))
    elif observed.ownership == desired.ownership:
        changes.append(Change("object ownership", desired.ownership, State.IN_PLACE))
    else:
        # Enforcing ownership disables ACLs an adopted bucket may rely on: only on request.
        diff = (f"--- object ownership (now)\n+++ object ownership (provision)\n"
                f"-{observed.ownership or 'not set (ObjectWriter)'}\n+{desired.ownership}\n")
        changes.append(Change("object ownership", desired.ownership, _drifted(replace_drifted),
                              "put_ownership", diff=diff))
    changes.append(_policy_change("bucket policy", _describe_bucket_policy(desired), observed.bucket_policy,
                                  desired.bucket_policy, "put_bucket_policy", replace_drifted))
    return _keep_drifted_policy_restricted(changes, observed, desired)


def _keep_drifted_policy_restricted(changes: list[Change], observed: Observed, desired: Desired) -> list[Change]:
    """Never let a drifted bucket policy take effect by lifting Block Public Access.

    On AWS, RestrictPublicBuckets keeps a public policy already on the bucket
    without effect; turning it off makes that policy public, whatever it says
    (anyone may read everything, say).  So while a drifted policy stays, Block
    Public Access is held back; when it is to be replaced, it is removed first
    and ours goes on after the switches.
    """
    access, ownership, policy = changes
    if not (access.acts and _lifts_restriction(observed.access_block, desired.access_block)):
        return changes
    if policy.state == State.DRIFTED:
        held = replace(access, state=State.HELD, op=None,
                       note="lifting it would make the drifted bucket policy public; --replace-drifted "
                            "removes that policy first")
        return [held, ownership, policy]
    if policy.state == State.REPLACE:
        removal = Change("drifted bucket policy", "removed before Block Public Access is lifted", State.REMOVE,
                         "delete_bucket_policy")
        return [removal, access, ownership, policy]
    return changes


def _lifts_restriction(observed_block, desired_block: dict) -> bool:
    was = observed_block if isinstance(observed_block, dict) else {}
    return bool(was.get("RestrictPublicBuckets")) and not desired_block.get("RestrictPublicBuckets")


def _policy_change(thing: str, target: str, observed: dict | None, desired: dict | None, op: str,
                   replace_drifted: bool) -> Change:
    if policies.same(observed, desired):
        return Change(thing, target, State.IN_PLACE)
    if observed is None:
        return Change(thing, target, State.CREATE, op)
    diff = policies.policy_diff(observed, desired, thing)
    return Change(thing, target, _drifted(replace_drifted), op, diff=diff)


def _key_change(desired: Desired, observed: Observed) -> Change:
    user = desired.names.user
    if observed.user and observed.key_on_file in observed.keys:
        return Change("access key", f"{observed.key_on_file} (on file)", State.IN_PLACE)
    if observed.user and len(observed.keys) >= 2:
        return Change("access key", f"user {user}", State.BLOCKED,
                      note=f"user {user} already has two access keys ({', '.join(observed.keys)}), neither in "
                           "the secrets file: delete one of them (IAM), or put its id and secret in the "
                           "secrets file, then re-run")
    note = f"the key in the secrets file is not {user}'s" if observed.key_on_file else ""
    return Change("access key", f"new key for {user}", State.CREATE, "create_key", note=note)


def _in_place_or_create(exists: bool) -> State:
    return State.IN_PLACE if exists else State.CREATE


def _drifted(replace_drifted: bool) -> State:
    return State.REPLACE if replace_drifted else State.DRIFTED


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


def state_word(change: Change, done: bool = False) -> str:
    words = {State.IN_PLACE: "already in place", State.UNSUPPORTED: "skipped", State.HELD: "held back",
             State.REMOVE: "removed" if done else "to remove",
             State.DRIFTED: "DRIFTED: see the diff; --replace-drifted replaces it", State.BLOCKED: "BLOCKED",
             State.CREATE: "created" if done else "to create", State.CHANGE: "set" if done else "to set",
             State.REPLACE: "replaced" if done else "to replace"}
    return words[change.state]


def plan_rows(changes: list[Change], done: bool = False) -> list[tuple[str, str, str]]:
    """(thing, name, state) of each change, as the plan table shows them."""
    return [(change.thing, change.target, state_word(change, done) + (f" ({change.note})" if change.note else ""))
            for change in changes]
