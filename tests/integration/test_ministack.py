"""`invoke provision` and teardown-provision against MiniStack, a store with AWS's semantics.

SeaweedFS (the sandbox's store) has no Block Public Access; MiniStack
(``deploy.sandbox.ministack``, started and stopped here on a free port) has it
as AWS has it, and Object Ownership, IAM groups and enforced ``s3:prefix``
conditions.  What the provisioned key does with the listing and the sync tools
is in test_ministack_key.py.
"""

from __future__ import annotations

import json

import pytest
from invoke import MockContext

from deploy.provision import policies
from deploy.provision.desired import names_for
from deploy.provision.plan import State
from deploy.store import bucket_admin, iam
from deploy.store.probe import anonymous_get, object_url
from deploy.errors import ProvisionError
from deploy.provision.teardown import run_teardown
from deploy.store.client import s3_client

from .ministack_project import (BUCKET, ENV, bucket_settings, checked_with_nothing_skipped, code_of,
                                everything_public, ministack_project)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(sandbox, ministack_store, tmp_path_factory):
    with ministack_project(sandbox, tmp_path_factory.mktemp("ministack-provision"), ministack_store) as made:
        yield made


# --- a fresh bucket, as a new AWS user gets it ------------------------------------------------

def test_provision_makes_a_fresh_bucket_the_aws_way_and_the_key_passes_every_check(project):
    steps, output = project.provision()
    assert {step.state for step in steps} == {State.IN_PLACE}           # afterwards; nothing unsupported
    for done in (f"bucket {BUCKET} (us-east-1): created", "block public access blocks public ACLs, allows a "
                 "public policy: set", "object ownership BucketOwnerEnforced: set",
                 "bucket policy anyone may GET media/*: created", f"IAM group media-cutover-{ENV}: created"):
        assert done in output
    assert checked_with_nothing_skipped(output), output
    public_block, ownership, policy = bucket_settings(project.admin_s3(), BUCKET)
    assert public_block == policies.PUBLIC_POLICY_ACCESS_BLOCK
    assert ownership == policies.OWNERSHIP
    assert policies.same(policy, policies.public_read_policy(BUCKET, "media"))
    api, names = iam.iam_client(project.admin()), names_for(ENV)
    assert iam.groups_of(api, names.user) == [names.group]
    assert policies.same(iam.group_policy(api, names.group, names.policy), policies.writer_policy(BUCKET, "media"))
    assert iam.user_policy(api, names.user, names.policy) is None


def test_a_second_run_through_the_task_changes_nothing_and_says_so(project, monkeypatch, capsys):
    import tasks

    secrets = project.root / "config" / f"{ENV}.secrets.env"
    before = secrets.read_bytes()
    monkeypatch.setattr(tasks, "PROJECT_ROOT", project.root)
    tasks.provision(MockContext(), env=ENV, admin_env=str(project.admin_env))
    output = capsys.readouterr().out
    assert output.count("already in place") == 9 + 1  # every row of the table, and the summary
    assert "nothing to do: every part is already in place" in output
    assert "created" not in output and "to set" not in output
    assert checked_with_nothing_skipped(output), output
    assert secrets.read_bytes() == before


def test_teardown_removes_the_bucket_it_created_with_its_objects(project):
    key_settings = project.key_settings()
    s3_client(key_settings).put_object(Bucket=BUCKET, Key="media/a b/photo one.jpg", Body=b"jpeg")
    lines = run_teardown(project.settings(), project.admin())
    assert f"removed IAM user {names_for(ENV).user}" in lines
    assert f"removed bucket {BUCKET} (1 object(s) under media/)" in lines
    assert f"removed the deleted key from config/{ENV}.secrets.env" in lines
    assert bucket_admin.bucket_state(project.admin_s3(), project.settings()) == "absent"
    assert code_of(lambda: s3_client(key_settings).list_objects_v2(Bucket=BUCKET, Prefix="media/")) != "ok"
    assert run_teardown(project.settings(), project.admin()) == ["nothing to remove"]


# --- adopting buckets ------------------------------------------------------------------------

def test_adopting_a_bucket_with_aws_defaults_lifts_only_the_policy_switches_and_teardown_puts_them_back(project):
    env, bucket = "msadopt", "media-cutover-ministack-adopted"
    project.add_env(env, bucket)
    admin_client = project.admin_s3(env)
    admin_client.create_bucket(Bucket=bucket)
    admin_client.put_object(Bucket=bucket, Key="private/report.txt", Body=b"not media")
    aws_defaults = bucket_settings(admin_client, bucket)
    assert aws_defaults == (policies.PRIVATE_ACCESS_BLOCK, policies.OWNERSHIP, None)
    settings = project.settings(env)
    # A public policy is refused while Block Public Access is on: why provision lifts it first.
    public = policies.public_read_policy(bucket, "media")
    assert code_of(lambda: admin_client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))) \
        == "AccessDenied"

    steps, output = project.provision(env)
    assert {step.state for step in steps} == {State.IN_PLACE}
    plan_rows = {line.split("  ")[0]: line for line in output.splitlines()[2:11]}
    assert plan_rows["bucket"].endswith("already in place")
    assert plan_rows["block public access"].endswith("to set (was: blocks all public access)")
    assert plan_rows["object ownership"].endswith("already in place")
    assert plan_rows["bucket policy"].endswith("to create")
    assert checked_with_nothing_skipped(output), output
    assert bucket_settings(admin_client, bucket)[:2] == (policies.PUBLIC_POLICY_ACCESS_BLOCK, policies.OWNERSHIP)
    assert anonymous_get(object_url(settings, "private/report.txt"))[0] == 403

    lines = run_teardown(settings, project.admin(env))
    assert f"restored Block Public Access of {bucket}" in lines
    assert f"removed the deleted key from config/{env}.secrets.env" in lines
    assert lines[-1] == f"kept bucket {bucket}: provision adopted it, did not create it"
    assert bucket_settings(admin_client, bucket) == aws_defaults
    assert bucket_admin.keys_under(admin_client, bucket) == ["private/report.txt"]
    assert not iam.user_exists(iam.iam_client(project.admin(env)), names_for(env).user)


def test_a_drifted_policy_kept_without_effect_never_takes_effect(project):
    # AWS allows this state: a policy making everything public, set while the switches were off,
    # then every switch turned on, which keeps it without effect (RestrictPublicBuckets).
    env, bucket = "mswide", "media-cutover-ministack-wide"
    project.add_env(env, bucket)
    admin_client = project.admin_s3(env)
    admin_client.create_bucket(Bucket=bucket)
    admin_client.put_public_access_block(Bucket=bucket,
                                         PublicAccessBlockConfiguration=policies.PUBLIC_POLICY_ACCESS_BLOCK)
    admin_client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(everything_public(bucket)))
    admin_client.put_public_access_block(Bucket=bucket,
                                         PublicAccessBlockConfiguration=policies.PRIVATE_ACCESS_BLOCK)
    admin_client.put_object(Bucket=bucket, Key="private/report.txt", Body=b"not media")
    before = bucket_settings(admin_client, bucket)
    settings = project.settings(env)
    report = object_url(settings, "private/report.txt")
    assert anonymous_get(report)[0] == 403

    # Lifting the switches while that policy stays would publish the whole bucket: held back.
    with pytest.raises(ProvisionError, match="block public access held back so that the drifted policy"):
        project.provision(env)
    assert bucket_settings(admin_client, bucket) == before
    assert anonymous_get(report)[0] == 403

    steps, output = project.provision(env, replace_drifted=True)
    assert output.index("drifted bucket policy removed before Block Public Access is lifted: removed") \
        < output.index("block public access blocks public ACLs, allows a public policy: set") \
        < output.index("bucket policy anyone may GET media/*: replaced")
    assert checked_with_nothing_skipped(output), output
    assert anonymous_get(report)[0] == 403

    run_teardown(settings, project.admin(env))
    assert bucket_settings(admin_client, bucket) == before
    assert anonymous_get(report)[0] == 403

def test_private_media_block_everything_set_no_policy_and_refuse_anonymous_gets(project):
    env, bucket = "msprivate", "media-cutover-ministack-private"
    project.add_env(env, bucket, public_media=False)
    steps, output = project.provision(env)
    assert checked_with_nothing_skipped(output), output
    assert "anonymous GET of " in output and "refused (PUBLIC_MEDIA=false)" in output
    assert bucket_settings(project.admin_s3(env), bucket) == (policies.PRIVATE_ACCESS_BLOCK, policies.OWNERSHIP,
                                                              None)
    settings = project.key_settings(env)
    s3_client(settings).put_object(Bucket=bucket, Key="media/a.png", Body=b"png", ContentType="image/png")
    assert anonymous_get(object_url(settings, "media/a.png"))[0] == 403
    lines = run_teardown(project.settings(env), project.admin(env))
    assert any(line.startswith(f"removed bucket {bucket} (1 object(s)") for line in lines)


def test_private_media_on_a_bucket_that_was_public_and_teardown_makes_it_public_again(project):
    env, bucket = "msprivate2", "media-cutover-ministack-was-public"
    project.add_env(env, bucket, public_media=False)
    admin_client = project.admin_s3(env)
    admin_client.create_bucket(Bucket=bucket)
    admin_client.put_public_access_block(Bucket=bucket,
                                         PublicAccessBlockConfiguration=policies.PUBLIC_POLICY_ACCESS_BLOCK)
    admin_client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(everything_public(bucket)))
    before = bucket_settings(admin_client, bucket)

    steps, output = project.provision(env, replace_drifted=True)
    assert "bucket policy none (PUBLIC_MEDIA=false): replaced" in output
    assert checked_with_nothing_skipped(output), output
    assert bucket_settings(admin_client, bucket) == (policies.PRIVATE_ACCESS_BLOCK, policies.OWNERSHIP, None)

    # Back as it was (while every switch is on, the store refuses the old public policy).
    lines = run_teardown(project.settings(env), project.admin(env))
    assert {f"restored Block Public Access of {bucket}",
            f"restored the bucket policy of {bucket} to what it was before provision"} <= set(lines)
    assert bucket_settings(admin_client, bucket) == before
    admin_client.delete_bucket_policy(Bucket=bucket)
    admin_client.delete_bucket(Bucket=bucket)
