"""`invoke provision`: the bucket, its public-read policy and a least-privilege IAM user.

Converge, as invocations' release tasks do: inspect the store
(``deploy.provision.observe``), compare with what the environment needs
(``deploy.provision.desired``; ``deploy.provision.plan``, pure), act only on
what is not in place (:class:`Provisioner`, one change at a time), inspect
again, then check what the new key can and cannot do
(``deploy.provision.check.check_key``).  A drifted policy is replaced only with
``--replace-drifted``.

What was created or changed is recorded (``deploy.provision.record``) so that
`invoke teardown-provision` (``deploy.provision.teardown``) removes exactly that.
With MEDIA_CUSTOM_DOMAIN, what the CDN still needs by hand is printed at the end
(``deploy.provision.cdn_steps``): text only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from ..config import credentials
from ..config.types import Settings
from ..errors import ProvisionError
from ..store import bucket_admin, iam
from ..store.client import s3_client
from ..store.errors import store_errors
from ..text_table import table
from .cdn_steps import cdn_steps
from .check import check_key
from .observe import observe
from .desired import Desired, desired_for
from .plan import Change, Observed, State, plan, plan_rows, state_word
from .record import read_record, write_record


@dataclass
class Provisioner:
    """One run: the admin clients, the desired state, and the record of what was made.

    Each ``_op`` method puts one change in place and notes in the record what it
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

    def apply(self, change: Change, observed: Observed) -> str:
        """Make one change; returns 'set', a new key's id, or State.UNSUPPORTED."""
        record = read_record(self.settings)
        record.update(env=self.settings.env, bucket=self.desired.bucket, prefix=self.desired.prefix,
                      names={"user": self.desired.names.user, "group": self.desired.names.group,
                             "policy": self.desired.names.policy})
        record.setdefault("created", {})
        record.setdefault("before", {})
        try:
            with store_errors(self.settings, f"{change.thing} {change.target}: {change.op}"):
                return getattr(self, f"_{change.op}")(record, observed)
        finally:
            write_record(self.settings, record)

    def _remember(self, record: dict, what: str, value, observed: Observed) -> None:
        """Keep the value an adopted bucket had before provision first changed it."""
        if observed.bucket and not record["created"].get("bucket") and what not in record["before"]:
            record["before"][what] = {"value": value}

    def _create_bucket(self, record: dict, observed: Observed) -> str:
        bucket_admin.create_bucket(self.s3, self.settings)
        record["created"]["bucket"] = True
        return "set"

    def _put_access_block(self, record: dict, observed: Observed) -> str:
        self._remember(record, "access_block", observed.access_block, observed)
        return bucket_admin.put_public_access_block(self.s3, self.desired.bucket, self.desired.access_block)

    def _put_ownership(self, record: dict, observed: Observed) -> str:
        self._remember(record, "ownership", observed.ownership, observed)
        return bucket_admin.put_ownership(self.s3, self.desired.bucket, self.desired.ownership)

    def _put_bucket_policy(self, record: dict, observed: Observed) -> str:
        self._remember(record, "bucket_policy", observed.bucket_policy, observed)
        if self.desired.bucket_policy is None:
            bucket_admin.delete_bucket_policy(self.s3, self.desired.bucket)
        else:
            bucket_admin.put_bucket_policy(self.s3, self.desired.bucket, self.desired.bucket_policy)
        return "set"

    def _delete_bucket_policy(self, record: dict, observed: Observed) -> str:
        """A drifted policy, removed before Block Public Access is lifted (see plan.py)."""
        self._remember(record, "bucket_policy", observed.bucket_policy, observed)
        bucket_admin.delete_bucket_policy(self.s3, self.desired.bucket)
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


def render_plan(changes: list[Change], done: bool = False) -> str:
    return table(("THING", "NAME", "STATE"), plan_rows(changes, done))


@dataclass(frozen=True)
class ProvisionOptions:
    dry_run: bool = False
    replace_drifted: bool = False
    check: bool = True
    propagation_timeout: float = 30.0


def run_provision(settings: Settings, admin: Settings, options: ProvisionOptions,
                  say: Callable[[str], None] = print) -> list[Change]:
    """Inspect, show the plan, act on what is not in place, inspect again, check with the key."""
    run = Provisioner(settings, admin)
    observed = run.observe()
    changes = plan(run.desired, observed, options.replace_drifted)
    say(f"provision {settings.env}: bucket {settings.bucket} at {settings.endpoint_url or 'AWS'}, "
        f"prefix {settings.media_prefix}/")
    say(render_plan(changes))
    for change in changes:
        if change.diff:
            say(change.diff.rstrip("\n"))
    for warning in observed.warnings:
        say(f"warning: {warning}")
    blocked = [change for change in changes if change.state == State.BLOCKED]
    if blocked:
        raise ProvisionError(blocked[0].note)
    if options.dry_run:
        say(f"dry run: nothing changed; {sum(change.acts for change in changes)} step(s) would act")
        _say_all(cdn_steps(settings), say)
        return changes
    for change in changes:
        if not change.acts:
            continue
        result = run.apply(change, observed)
        if change.op == "create_key":
            say(f"{change.thing}: created {result} for {run.desired.names.user}; written to "
                f"config/{settings.env}.secrets.env (mode 600); the secret is not shown")
        elif result == State.UNSUPPORTED:
            say(f"{change.thing}: skipped (the store does not support it)")
        else:
            say(f"{change.thing} {change.target}: {state_word(change, done=True)}")
    if all(change.state in (State.IN_PLACE, State.UNSUPPORTED) for change in changes):
        say("nothing to do: every part is already in place")
    # Inspect again: what should now be in place must be.
    after = plan(run.desired, run.observe(), replace_drifted=False)
    missing = [change for change in after if change.state in (State.CREATE, State.CHANGE, State.BLOCKED)]
    if missing:
        raise ProvisionError("still not in place after provisioning: "
                             + "; ".join(f"{change.thing} {change.target}" for change in missing))
    drifted = [change for change in after if change.state == State.DRIFTED]
    if drifted:
        held = "".join(f"; {change.thing} held back so that the drifted policy stays without effect"
                       for change in after if change.state == State.HELD)
        raise ProvisionError(", ".join(change.thing for change in drifted) + f" drifted (diff above) and left "
                             f"as is{held}: re-run with --replace-drifted to replace; the key was not checked")
    for variable in credentials.environment_overrides():
        say(f"warning: {variable} is set in this shell and overrides config/{settings.env}.secrets.env "
            "for every other command: unset it to use the provisioned key")
    if options.check:
        on_file = credentials.key_on_file(settings)
        if on_file is None:
            raise ProvisionError(f"config/{settings.env}.secrets.env holds no complete deploy key to check")
        check_key(credentials.with_key(settings, *on_file), admin, say, options.propagation_timeout)
    _say_all(cdn_steps(settings), say)   # MEDIA_CUSTOM_DOMAIN: what is left to the operator, as text
    return after


def _say_all(lines: list[str], say: Callable[[str], None]) -> None:
    for line in lines:
        say(line)
