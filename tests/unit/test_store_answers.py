"""How odd but real store answers are read: stubbed botocore responses, no network."""

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from deploy.provision.plan import State
from deploy.store import bucket_admin, errors as store_errors, iam
from deploy.errors import ProvisionError

from .test_provision import CONFIG


def _client(service: str):
    return boto3.session.Session().client(service, region_name="us-east-1", endpoint_url="http://store.invalid",
                                          aws_access_key_id="AKIATEST", aws_secret_access_key="secret")


def _error(status: int, code: str = "", message: str = "") -> botocore.exceptions.ClientError:
    error = {"Code": code, "Message": message} if code or message else {}
    return botocore.exceptions.ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}},
                                           "GetGroup")


def test_ownership_answered_200_without_rules_is_unsupported_not_a_key_error():
    client = _client("s3")
    with Stubber(client) as stub:
        stub.add_response("get_bucket_ownership_controls", {}, {"Bucket": "media"})
        assert bucket_admin.ownership(client, "media") == State.UNSUPPORTED
        stub.add_response("get_bucket_ownership_controls", {"OwnershipControls": {"Rules": []}},
                          {"Bucket": "media"})
        assert bucket_admin.ownership(client, "media") == State.UNSUPPORTED
        stub.add_response("get_bucket_ownership_controls",
                          {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
                          {"Bucket": "media"})
        assert bucket_admin.ownership(client, "media") == "BucketOwnerEnforced"


@pytest.mark.parametrize("status, code", [(405, ""), (501, ""), (400, "NotImplemented"),
                                          (405, "MethodNotAllowed")])
def test_an_api_the_store_lacks_is_recognized_with_or_without_a_code(status, code):
    assert store_errors.unsupported(_error(status, code))


@pytest.mark.parametrize("status, code", [(403, "AccessDenied"), (404, "NoSuchEntity"), (400, "")])
def test_refusals_and_absence_are_not_unsupported(status, code):
    assert not store_errors.unsupported(_error(status, code))


def test_iam_groups_answered_405_without_a_code_count_as_unsupported_in_observe():
    """Ceph RGW answers 405 with an empty body to IAM calls it lacks."""
    api = _client("iam")
    with Stubber(api) as stub:
        stub.add_client_error("get_group", http_status_code=405, service_error_code="", service_message="")
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            iam.group_exists(api, "media-cutover-demo")
    assert store_errors.unsupported(raised.value)


def test_a_store_without_the_api_gets_one_clear_line_not_a_client_error(tmp_path):
    from deploy.config.load import load_settings

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    settings = load_settings("demo", tmp_path, {})
    with pytest.raises(ProvisionError) as raised:
        with store_errors.store_errors(settings, "reading the IAM user and group"):
            raise _error(405)
    message = str(raised.value)
    assert message.startswith("reading the IAM user and group failed (405): the store does not implement")
    assert "ClientError" not in message
