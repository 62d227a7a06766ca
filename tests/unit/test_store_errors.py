"""The one translator of the store's errors: the deploy key's refusals in preflight, the admin key's in provision."""

import botocore.exceptions
import pytest

from deploy.errors import PreflightError, ProvisionError
from deploy.store.errors import DEPLOY_KEY, error_code, missing, store_errors, unsupported


class Settings:
    endpoint_url = None
    bucket = "my-media"


def client_error(code: str | None, status: int = 403, message: str = "") -> botocore.exceptions.ClientError:
    error = {"Code": code, "Message": message} if code is not None else {}
    return botocore.exceptions.ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def raised(error: Exception, what: str, *key) -> Exception:
    with pytest.raises(Exception) as caught:
        with store_errors(Settings(), what, *key):
            raise error
    return caught.value


def test_a_refusal_of_the_deploy_key_says_what_to_fix_in_the_environment():
    error = raised(client_error("SignatureDoesNotMatch"), "bucket my-media: listing", DEPLOY_KEY)
    assert isinstance(error, PreflightError)
    assert str(error) == ("bucket my-media: listing refused (SignatureDoesNotMatch): the secret "
                          "AWS_SECRET_ACCESS_KEY does not match AWS_ACCESS_KEY_ID")


def test_a_refusal_of_the_admin_key_is_a_provision_error():
    error = raised(client_error("AccessDenied"), "reading bucket my-media")
    assert isinstance(error, ProvisionError)
    assert str(error) == "reading bucket my-media failed (AccessDenied): the admin key may not do this"


def test_an_unknown_code_shows_the_stores_message_and_a_codeless_answer_its_status():
    assert str(raised(client_error("SlowDown", message="Reduce your request rate"), "x")) == \
        "x failed (SlowDown): Reduce your request rate"
    assert str(raised(client_error(None, status=404), "bucket my-media: listing", DEPLOY_KEY)) == \
        "bucket my-media: listing refused (404): the bucket does not exist: create it (invoke provision) or fix " \
        "AWS_STORAGE_BUCKET_NAME"


def test_a_store_that_cannot_be_reached_is_named():
    unreachable = botocore.exceptions.EndpointConnectionError(endpoint_url="https://s3.example")
    assert str(raised(unreachable, "bucket my-media: listing", DEPLOY_KEY)) == \
        "bucket my-media: listing failed: cannot reach S3 (EndpointConnectionError)"
    assert str(raised(unreachable, "reading bucket my-media")) == \
        "reading bucket my-media failed: cannot reach AWS (EndpointConnectionError)"


def test_anything_else_passes_through():
    with pytest.raises(ZeroDivisionError):
        with store_errors(Settings(), "x"):
            1 / 0


def test_answers_are_sorted_into_unsupported_and_missing():
    assert unsupported(client_error("NotImplemented", 501)) and unsupported(client_error(None, 501))
    assert not unsupported(client_error("AccessDenied")) and not unsupported(ValueError())
    assert missing(client_error("NoSuchEntity", 404)) and not missing(client_error("AccessDenied"))
    assert error_code(client_error(None, 405)) == "405" and error_code(ValueError()) == "ValueError"
