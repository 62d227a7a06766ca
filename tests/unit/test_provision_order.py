"""The order of provision's bucket steps under AWS's Block Public Access rules (pure plan).

On AWS, RestrictPublicBuckets keeps a public bucket policy that is already set
from taking effect.  Lifting it while a drifted policy stays (or before it is
replaced) makes that policy public: a bucket whose policy said "anyone may
read everything" would serve every object to anyone.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.provision import policies
from deploy.provision.apply import render_plan
from deploy.provision.desired import desired_for
from deploy.provision.plan import State, plan

from .test_provision import CONFIG, in_place, states

ALL_ON = policies.PRIVATE_ACCESS_BLOCK


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    return load_settings("demo", tmp_path, {})


@pytest.fixture
def desired(settings):
    return desired_for(settings)


def everything_public(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "OldPublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}


def bucket_steps(steps) -> list[tuple[str, str, str | None]]:
    return [(step.thing, step.state, step.op) for step in steps[:5]]


def test_block_public_access_is_held_while_a_drifted_policy_stays(desired):
    observed = in_place(desired, access_block=ALL_ON, bucket_policy=everything_public(desired.bucket))
    steps = plan(desired, observed)
    by_thing = {step.thing: step for step in steps}
    assert by_thing["block public access"].state == State.HELD and not by_thing["block public access"].acts
    assert "would make the drifted bucket policy public" in by_thing["block public access"].note
    assert by_thing["bucket policy"].state == State.DRIFTED
    assert "held back" in render_plan(steps)


def test_a_drifted_policy_is_removed_before_block_public_access_is_lifted(desired):
    observed = in_place(desired, access_block=ALL_ON, bucket_policy=everything_public(desired.bucket))
    steps = plan(desired, observed, replace_drifted=True)
    assert bucket_steps(steps) == [
        ("bucket", State.IN_PLACE, "create_bucket"),
        ("drifted bucket policy", State.REMOVE, "delete_bucket_policy"),
        ("block public access", State.CHANGE, "put_access_block"),
        ("object ownership", State.IN_PLACE, None),
        ("bucket policy", State.REPLACE, "put_bucket_policy"),
    ]
    assert all(step.acts for step in steps[1:3])


def test_nothing_is_held_when_block_public_access_restricts_nothing_now(desired):
    # The drifted policy already takes effect: lifting the policy switches changes nothing for it.
    lifted = dict(ALL_ON, RestrictPublicBuckets=False)
    observed = in_place(desired, access_block=lifted, bucket_policy=everything_public(desired.bucket))
    assert states(plan(desired, observed))["block public access"] == State.CHANGE
    replaced = plan(desired, observed, replace_drifted=True)
    assert "drifted bucket policy" not in states(replaced)


def test_private_media_never_hold_block_public_access(settings):
    private = desired_for(replace(settings, public_media=False))
    observed = in_place(private, access_block=dict(ALL_ON, RestrictPublicBuckets=False),
                        bucket_policy=everything_public(private.bucket))
    result = states(plan(private, observed))
    assert (result["block public access"], result["bucket policy"]) == (State.CHANGE, State.DRIFTED)
