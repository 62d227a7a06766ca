"""The store adapters under transient faults, against a store that stumbles on cue (a loopback server): the
anonymous fetch, boto3 with its counted retries and what escapes them, the listing's pages, and what the
errors say when the store keeps failing.  403 and 404 are never retried."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.errors import PreflightError, StoreUnavailable
from deploy.retry import FaultTally
from deploy.store import listing
from deploy.store.client import s3_client, store_call
from deploy.store.errors import DEPLOY_KEY, store_errors
from deploy.store.probe import anonymous_get, fetch_anonymously

from .configs import MINIMAL
from .store_fakes import DENIED, NO_SUCH_KEY, Answer, StumblingStore, reset_midway, slow_down

PAGE = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Name>my-media</Name><Prefix>media/</Prefix><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>"
        b"<Contents><Key>media/a.jpg</Key><Size>3</Size><ETag>&quot;x&quot;</ETag></Contents></ListBucketResult>")


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(store: StumblingStore, attempts: int = 8, seconds: float = 60):
        (tmp_path / "config").mkdir(exist_ok=True)
        (tmp_path / "config" / "demo.env").write_text(
            MINIMAL + "AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\n"
                      f"AWS_S3_ENDPOINT_URL={store.url}\nSTORE_RETRY_ATTEMPTS={attempts}\nSTORE_RETRY_SECONDS={seconds}\n")
        return load_settings("demo", tmp_path, {})
    return make


# --- the anonymous fetch (the health check's media URLs, the probe's anonymous GET) ----------------

def test_an_anonymous_fetch_rides_out_slowdowns_and_a_reset_and_counts_them(make_settings):
    with StumblingStore([slow_down(), reset_midway(b"0123456789"), slow_down()],
                        then=Answer(200, b"the image", "image/jpeg")) as store:
        tally = FaultTally()
        status, body, headers = fetch_anonymously(store.url + "/my-media/media/a.jpg", make_settings(store), tally)
    assert (status, body, headers.get("Content-Type")) == (200, b"the image", "image/jpeg")
    assert len(store.requests) == 4
    retried = tally.take()
    assert retried.pop("503 SlowDown") == 2
    assert retried in ({"ConnectionResetError": 1}, {"IncompleteRead": 1})   # the reset, as the read saw it


@pytest.mark.parametrize("answer, said", [(Answer(403, DENIED), "AccessDenied"),
                                          (Answer(404, NO_SUCH_KEY), "NoSuchKey")])
def test_403_and_404_are_answered_at_once_never_retried(make_settings, answer, said):
    with StumblingStore([], then=answer) as store:
        tally = FaultTally()
        status, body, _ = fetch_anonymously(store.url + "/my-media/media/a.jpg", make_settings(store), tally)
    assert status == answer.status and said.encode() in body
    assert len(store.requests) == 1 and tally.take() == {}


def test_a_store_that_keeps_failing_is_named_with_its_status_code_and_attempts(make_settings):
    with StumblingStore([], then=slow_down()) as store:
        settings = make_settings(store, attempts=3, seconds=10)
        with pytest.raises(StoreUnavailable) as raised:
            fetch_anonymously(store.url + "/my-media/media/a.jpg", settings, what="web1: media URL a.jpg")
    message = str(raised.value)
    assert message.startswith("web1: media URL a.jpg: the store answered HTTP 503 SlowDown: Please reduce your "
                              "request rate. (on each of the 3 attempts")
    assert "credentials" not in message and len(store.requests) == 3


def test_nothing_answering_is_said_by_the_network_errors_name():
    status, body, _ = anonymous_get("http://127.0.0.1:9/nothing", timeout=1)
    assert status == 0 and body.decode().startswith("ConnectionRefusedError: ")


# --- boto3 ----------------------------------------------------------------------------------------

def test_boto3_retries_a_503_itself_and_the_client_counts_it(make_settings):
    with StumblingStore([slow_down(), Answer(500, b"")], then=Answer(200, b"", "text/plain")) as store:
        tally = FaultTally()
        client = s3_client(make_settings(store), faults=tally)
        client.put_object(Bucket="my-media", Key="media/a.txt", Body=b"abc")
    assert [method for method, _ in store.requests] == ["PUT", "PUT", "PUT"]
    assert tally.take() == {"503 SlowDown": 1, "500": 1}


def test_boto3s_attempts_come_from_the_policy_and_the_last_503_is_no_refusal(make_settings):
    with StumblingStore([], then=slow_down()) as store:
        settings = make_settings(store, attempts=3)
        client = s3_client(settings, faults=FaultTally())
        with pytest.raises(StoreUnavailable) as raised:
            with store_errors(settings, "bucket my-media: put media/a.txt", DEPLOY_KEY):
                client.put_object(Bucket="my-media", Key="media/a.txt", Body=b"abc")
    assert len(store.requests) == 3
    assert str(raised.value).startswith("bucket my-media: put media/a.txt: the store answered HTTP 503 SlowDown: "
                                        "Please reduce your request rate. (on each of the 3 attempts)")


def test_boto3_does_not_retry_a_403_and_it_stays_a_refusal(make_settings):
    with StumblingStore([], then=Answer(403, DENIED)) as store:
        settings, tally = make_settings(store), FaultTally()
        with pytest.raises(PreflightError, match=r"refused \(AccessDenied\)"):
            with store_errors(settings, "bucket my-media: put media/a.txt", DEPLOY_KEY):
                s3_client(settings, faults=tally).put_object(Bucket="my-media", Key="media/a.txt", Body=b"abc")
    assert len(store.requests) == 1 and tally.take() == {}


def test_a_body_cut_short_escapes_botocores_retries_and_store_call_retries_it(make_settings):
    with StumblingStore([reset_midway(b"0123456789")], then=Answer(200, b"0123456789", "text/plain")) as store:
        settings, tally = make_settings(store), FaultTally()
        client = s3_client(settings, faults=tally)
        body = store_call(lambda: client.get_object(Bucket="my-media", Key="media/a.txt")["Body"].read(),
                          "get media/a.txt", settings, tally)
    assert body == b"0123456789" and len(store.requests) == 2
    assert sum(tally.take().values()) == 1


# --- the listing's pages ----------------------------------------------------------------------------

def test_a_listing_page_is_asked_again_after_a_503_and_a_reset(make_settings):
    with StumblingStore([slow_down(), reset_midway(PAGE)], then=Answer(200, PAGE)) as store:
        tally = FaultTally()
        entries = list(listing.listing(make_settings(store), faults=tally))
    assert [entry.key for entry in entries] == ["media/a.jpg"]
    retried = tally.take()
    assert retried.pop("503 SlowDown") == 1
    assert retried in ({"ConnectionResetError": 1}, {"IncompleteRead": 1})


def test_a_listing_refused_is_said_as_before_and_not_retried(make_settings):
    from deploy.errors import RemoteError
    with StumblingStore([], then=Answer(403, DENIED)) as store:
        with pytest.raises(RemoteError, match="answered HTTP 403 AccessDenied: check the bucket"):
            list(listing.listing(make_settings(store)))
    assert len(store.requests) == 1


def test_a_listing_the_store_keeps_failing_names_the_prefix_not_the_signed_url(make_settings):
    with StumblingStore([], then=slow_down()) as store:
        settings = replace(make_settings(store, attempts=2))
        with pytest.raises(StoreUnavailable) as raised:
            list(listing.listing(settings))
    message = str(raised.value)
    assert message.startswith("listing s3://my-media/media/: the store answered HTTP 503 SlowDown")
    assert "X-Amz-Signature" not in message and "2 attempts" in message


def test_the_preflight_probe_against_a_store_answering_only_503_names_it_and_tries_no_clean_up(make_settings):
    from deploy.store.probe import probe
    with StumblingStore([], then=slow_down()) as store:
        with pytest.raises(StoreUnavailable) as raised:
            probe(make_settings(store, attempts=3), "media/.probe", check_public=True, faults=FaultTally())
    assert str(raised.value).startswith("bucket my-media: listing: the store answered HTTP 503 SlowDown")
    assert "3 attempts" in str(raised.value)
    assert [method for method, _ in store.requests] == ["GET"] * 3     # nothing was put: nothing to delete
