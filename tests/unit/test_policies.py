"""The documents provision sets, and when two policies count as the same."""

import json

from deploy.provision import policies
from deploy.sandbox.s3store import public_read_policy as sandbox_policy


def test_public_read_policy_is_the_sandboxs_so_its_bucket_counts_as_in_place():
    assert policies.public_read_policy("b", "media") == sandbox_policy("b", "media")


def test_public_read_policy_allows_only_get_under_the_prefix():
    (statement,) = policies.public_read_policy("b", "media")["Statement"]
    assert statement["Principal"] == "*"
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == ["arn:aws:s3:::b/media/*"]


def test_writer_policy_is_objects_under_the_prefix_and_a_prefix_listing_nothing_else():
    policy = policies.writer_policy("b", "media")
    assert policy == {"Version": "2012-10-17", "Statement": [
        {"Sid": "MediaObjects", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::b/media/*"]},
        {"Sid": "ListMediaPrefix", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"],
         "Condition": {"StringLike": {"s3:prefix": ["media/", "media/*"]}}}]}
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert not any("*" in action for action in actions)


def test_a_store_echoing_one_element_lists_as_strings_is_not_drift():
    ours = policies.writer_policy("b", "media")
    echoed = json.loads(json.dumps(ours))
    echoed["Statement"][1]["Action"] = "s3:ListBucket"
    echoed["Statement"][0]["Resource"] = "arn:aws:s3:::b/media/*"
    echoed["Statement"].reverse()
    echoed["Statement"][0]["Condition"]["StringLike"]["s3:prefix"].reverse()
    assert policies.same(echoed, ours)
    assert policies.policy_diff(echoed, ours, "group policy") == ""


def test_principal_star_spellings_are_the_same():
    ours = policies.public_read_policy("b", "media")
    theirs = json.loads(json.dumps(ours))
    theirs["Statement"][0]["Principal"] = {"AWS": "*"}
    assert policies.same(theirs, ours)


def test_a_wider_resource_is_drift_and_the_diff_is_sorted_json():
    ours = policies.public_read_policy("b", "media")
    theirs = policies.public_read_policy("b", "media")
    theirs["Statement"][0]["Resource"] = ["arn:aws:s3:::b/*"]
    diff = policies.policy_diff(theirs, ours, "bucket policy")
    assert diff.startswith("--- bucket policy (now)\n+++ bucket policy (provision)\n")
    assert '-        "arn:aws:s3:::b/*"' in diff and '+        "arn:aws:s3:::b/media/*"' in diff
    assert policies.render(ours).index('"Action"') < policies.render(ours).index('"Effect"')


def test_no_policy_versus_ours_diffs_against_none():
    diff = policies.policy_diff(None, policies.public_read_policy("b", "m"), "bucket policy")
    assert "-(none)" in diff


def test_parse_takes_dicts_json_and_url_encoded_json():
    document = {"Version": "2012-10-17", "Statement": []}
    assert policies.parse(document) is document
    assert policies.parse(json.dumps(document)) == document
    assert policies.parse("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D") == document
    assert policies.parse(None) is None
