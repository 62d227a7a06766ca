"""The provision plan: desired state versus observed state, without a network."""

from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.config.types import Secret
from deploy.errors import ProvisionError
from deploy.provision import policies, record as provision_record, teardown as provision_teardown
from deploy.provision.apply import render_plan
from deploy.provision.desired import Names, desired_for
from deploy.provision.plan import Observed, State, plan

from .configs import MINIMAL

BLOCKED, CHANGE, CREATE, DRIFTED, IN_PLACE, REPLACE, UNSUPPORTED = (
    State.BLOCKED, State.CHANGE, State.CREATE, State.DRIFTED, State.IN_PLACE, State.REPLACE, State.UNSUPPORTED)

CONFIG = MINIMAL + """\
AWS_S3_REGION_NAME=eu-west-1
AWS_ACCESS_KEY_ID=AKIAFILE
AWS_SECRET_ACCESS_KEY=file-secret
"""


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    return load_settings("demo", tmp_path, {})


@pytest.fixture
def desired(settings):
    return desired_for(settings)


def in_place(desired, **changes) -> Observed:
    """What the store holds after a complete provision on AWS."""
    base = Observed(bucket=True, bucket_policy=desired.bucket_policy, access_block=desired.access_block,
                    ownership=desired.ownership, group=True, group_policy=desired.writer_policy, user=True,
                    member=True, keys=("AKIANEW",), key_on_file="AKIANEW")
    return replace(base, **changes)


def states(steps) -> dict[str, str]:
    return {step.thing: step.state for step in steps}


def test_names_are_derived_from_the_environment(desired):
    assert desired.names == Names(user="media-cutover-demo", group="media-cutover-demo",
                                  policy="media-cutover-media-writer")


def test_from_nothing_every_step_acts_in_order(desired):
    steps = plan(desired, Observed())
    assert [(step.thing, step.state, step.op) for step in steps] == [
        ("bucket", CREATE, "create_bucket"),
        ("block public access", CHANGE, "put_access_block"),
        ("object ownership", CHANGE, "put_ownership"),
        ("bucket policy", CREATE, "put_bucket_policy"),
        ("IAM group", CREATE, "create_group"),
        ("group policy", CREATE, "put_group_policy"),
        ("IAM user", CREATE, "create_user"),
        ("group member", CREATE, "add_to_group"),
        ("access key", CREATE, "create_key"),
    ]


def test_block_public_access_comes_before_the_public_policy(desired):
    things = [step.thing for step in plan(desired, Observed())]
    assert things.index("block public access") < things.index("bucket policy")


def test_everything_in_place_is_a_no_op(desired):
    steps = plan(desired, in_place(desired))
    assert set(states(steps).values()) == {IN_PLACE}
    assert not any(step.acts for step in steps)
    assert render_plan(steps).count("already in place") == len(steps)


def test_desired_public_media_block_turns_off_only_the_policy_switches(desired):
    assert desired.access_block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                    "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    assert desired.ownership == "BucketOwnerEnforced"


def test_new_aws_bucket_defaults_are_changed_without_a_flag(desired):
    all_blocked = dict.fromkeys(desired.access_block, True)
    steps = plan(desired, in_place(desired, access_block=all_blocked, bucket_policy=None))
    assert states(steps)["block public access"] == CHANGE
    assert states(steps)["bucket policy"] == CREATE


def test_drifted_policies_are_shown_and_left_unless_asked(desired):
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    observed = in_place(desired, group_policy=wide,
                        bucket_policy=policies.public_read_policy(desired.bucket, "other"))
    steps = {step.thing: step for step in plan(desired, observed)}
    assert steps["group policy"].state == DRIFTED and not steps["group policy"].acts
    assert '"s3:*"' in steps["group policy"].diff
    assert steps["bucket policy"].state == DRIFTED and "other/*" in steps["bucket policy"].diff
    replaced = {step.thing: step for step in plan(desired, observed, replace_drifted=True)}
    assert replaced["group policy"].state == REPLACE and replaced["group policy"].acts
    assert replaced["bucket policy"].state == REPLACE


def test_an_adopted_buckets_ownership_changes_only_on_request(desired):
    steps = {step.thing: step for step in plan(desired, in_place(desired, ownership="ObjectWriter"))}
    assert steps["object ownership"].state == DRIFTED
    assert "-ObjectWriter" in steps["object ownership"].diff
    assert states(plan(desired, in_place(desired, ownership=None), True))["object ownership"] == REPLACE


def test_what_the_store_lacks_is_skipped(desired):
    observed = in_place(desired, access_block=UNSUPPORTED, ownership=UNSUPPORTED)
    result = states(plan(desired, observed))
    assert result["block public access"] == UNSUPPORTED
    assert result["object ownership"] == UNSUPPORTED
    assert "skipped" in render_plan(plan(desired, observed))


def test_without_iam_groups_the_policy_goes_on_the_user(desired):
    observed = in_place(desired, groups_supported=False, group=False, group_policy=None, member=False,
                        user_policy=None)
    steps = plan(desired, observed)
    assert [(step.thing, step.state) for step in steps][4:] == [
        ("IAM group", UNSUPPORTED), ("IAM user", IN_PLACE), ("user policy", CREATE), ("access key", IN_PLACE)]
    again = plan(desired, replace(observed, user_policy=desired.writer_policy))
    assert states(again)["user policy"] == IN_PLACE


def test_a_key_not_on_file_gets_a_new_key(desired):
    steps = {step.thing: step for step in plan(desired, in_place(desired, key_on_file="AKIAADMIN"))}
    assert steps["access key"].state == CREATE
    assert "not media-cutover-demo's" in steps["access key"].note
    assert "AKIAADMIN" not in render_plan(list(steps.values()))  # maybe the admin's: never shown


def test_two_foreign_keys_block_rather_than_exceed_the_limit(desired):
    steps = {step.thing: step for step in plan(desired, in_place(desired, keys=("AKIA1", "AKIA2"),
                                                                  key_on_file=None))}
    assert steps["access key"].state == BLOCKED
    assert "AKIA1, AKIA2" in steps["access key"].note


def test_private_media_want_no_bucket_policy_and_everything_blocked(settings):
    desired = desired_for(replace(settings, public_media=False))
    assert desired.bucket_policy is None
    assert all(desired.access_block.values())
    assert states(plan(desired, in_place(desired)))["bucket policy"] == IN_PLACE
    public = policies.public_read_policy(desired.bucket, desired.prefix)
    assert states(plan(desired, in_place(desired, bucket_policy=public)))["bucket policy"] == DRIFTED


def test_a_new_bucket_plans_everything_for_it(desired):
    steps = plan(desired, Observed(bucket=False, group=True, group_policy=desired.writer_policy, user=True,
                                   member=True, keys=("AKIANEW",), key_on_file="AKIANEW"))
    assert states(steps)["bucket"] == CREATE
    assert states(steps)["IAM user"] == IN_PLACE


def test_teardown_refuses_production_before_touching_anything(settings):
    admin = replace(settings, access_key_id="AKIAADMIN", secret_access_key=Secret("admin-secret"))
    with pytest.raises(ProvisionError, match="production") as error:
        provision_teardown.run_teardown(replace(settings, production=True), admin)
    assert "admin-secret" not in str(error.value)


def test_record_round_trips(settings):
    provision_record.write_record(settings, {"created": {"bucket": True}, "keys": ["AKIA1"]})
    assert provision_record.read_record(settings) == {"created": {"bucket": True}, "keys": ["AKIA1"]}
    assert provision_record.record_path(settings).name == "provision-demo.json"
