"""The bucket side: probes, anonymous fetches (the store's transient faults retried: ``deploy.retry``)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from email.message import Message
from urllib.parse import quote

from ..config.types import Settings
from ..errors import PreflightError, StoreUnavailable
from ..retry import FaultTally, fault_of_error, fault_of_response, policy_of, said_of, with_retries
from .client import s3_client, store_call
from .errors import DEPLOY_KEY, store_errors

Answer = tuple[int, bytes, Message]  # (status, body, headers); status 0: nothing answered


def object_url(settings: Settings, key: str) -> str:
    return f"{settings.bucket_url}/{quote(key)}"


def anonymous_get(url: str, timeout: float = 10, follow: bool = True) -> Answer:
    """(status, body, headers) of a GET without credentials, tried once; status 0 when nothing answered,
    and then the body names the network error ("ConnectionResetError: [Errno 104] Connection reset by peer").
    ``follow`` False: a redirect is the answer (its status, its Location among the headers), not followed.

    The headers stay an ``email.message.Message``, looked up case-insensitively: a
    store or CDN may send ``content-type`` in lower case.
    """
    try:
        return _get(url, timeout, follow=follow)
    except (OSError, http.client.HTTPException) as error:
        return 0, _named(error).encode(), Message()


def fetch_anonymously(url: str, settings: Settings, faults: FaultTally | None = None, timeout: float = 10,
                      what: str | None = None, most: int | None = None) -> Answer:
    """An anonymous GET of an object of the store, its transient faults (5xx, SlowDown, a reset, a body cut
    short, a timeout) retried as the policy says and counted in ``faults``; any other answer (a 403, a 404)
    as it came, at once.  StoreUnavailable, naming ``what`` (default: the URL), when the store kept failing.
    ``most``: the body read up to that many bytes (a check of a large file's answer)."""
    try:
        return with_retries(lambda: _get(url, timeout, most), what or f"GET {url}", policy_of(settings), faults,
                            judge=lambda answer: fault_of_response(answer[0], answer[1])).value
    except (OSError, http.client.HTTPException) as error:   # not transient: a name that does not resolve
        return 0, _named(error).encode(), Message()


class _NotFollowed(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None   # urllib then raises the redirect as an HTTPError: its status and headers are the answer


_NOT_FOLLOWING = urllib.request.build_opener(_NotFollowed)


def _get(url: str, timeout: float, most: int | None = None, follow: bool = True) -> Answer:
    """One GET; an HTTP error's answer is returned (its body names the store's code), a network error raised."""
    try:
        with (urllib.request.urlopen if follow else _NOT_FOLLOWING.open)(url, timeout=timeout) as response:
            return response.status, response.read(most), response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(), error.headers


def _named(error: BaseException) -> str:
    fault = fault_of_error(error)
    return fault.said if fault is not None else f"{type(error).__name__}: {error}"


def probe_body(key: str) -> bytes:
    """The probe object's bytes, its key (new each run) in them: no other bucket or prefix behind a custom
    domain can answer the same bytes."""
    return f"media-cutover preflight probe {key}\n".encode()


def domain_url(settings: Settings, key: str) -> str:
    """The URL of ``key`` (under the media prefix) through the custom domain, as the site will write it."""
    return settings.media_base_url + quote(key.removeprefix(settings.media_prefix + "/"))


def domain_problem(settings: Settings, url: str, answer: tuple[int, bytes], body: bytes) -> str | None:
    """Pure: the one-line refusal when the custom domain's answer to GET ``url`` is not the probe object just
    put (``body``) with a 200; None when it is."""
    status, answered = answer
    if status == 200 and answered == body:
        return None
    name, domain = settings.custom_domain_key, settings.custom_domain
    origin, path = settings.bucket_origin
    fix = f"point the domain's origin at {origin} (origin path {path or 'empty'}) or fix {name}"
    put = f"the probe object just put in s3://{settings.bucket}/{settings.media_prefix}/"
    if status == 0:
        return (f"{name} {domain} cannot be reached: GET {url} answered {said_of(status, answered)}; check the "
                f"name's DNS record and certificate, or fix {name}")
    if status != 200:
        return (f"{name} {domain} does not serve this bucket: GET {url} answered {said_of(status, answered)}, "
                f"expected {put}; {fix}")
    glimpse = answered[:40].decode("utf-8", "replace")
    return (f"{name} {domain} serves other bytes than the probe object: GET {url} answered HTTP 200 with "
            f"{len(answered)} bytes ({glimpse!r}), not the {len(body)} of {put}: another bucket or prefix? {fix}")


def probe(settings: Settings, key: str, check_public: bool, faults: FaultTally | None = None) -> None:
    """Put, get (signed and, if media are public, anonymous; through the custom domain if there is one) and
    delete one small object."""
    client = s3_client(settings, faults=faults)
    body = probe_body(key)
    # A listing limited to the prefix: a least-privilege key may not HEAD the bucket.
    steps = [("listing", lambda: client.list_objects_v2(Bucket=settings.bucket,
                                                        Prefix=settings.media_prefix + "/", MaxKeys=1)),
             (f"put {key}", lambda: client.put_object(Bucket=settings.bucket, Key=key, Body=body,
                                                      ContentType="text/plain")),
             (f"get {key}", lambda: store_call(  # the body is read outside botocore's retries
                 lambda: client.get_object(Bucket=settings.bucket, Key=key)["Body"].read(),
                 f"bucket {settings.bucket}: get {key}", settings, faults))]
    put = tried = False   # tried: a put was sent (the store may hold the object though its answer failed)
    try:
        for what, action in steps:
            tried = tried or what.startswith("put")
            with store_errors(settings, f"bucket {settings.bucket}: {what}", DEPLOY_KEY):
                result = action()
            put = put or what.startswith("put")
        if result != body:
            raise PreflightError(f"bucket {settings.bucket}: {key} read back differs from what was put")
        if check_public:
            status, answered, _ = fetch_anonymously(object_url(settings, key), settings, faults,
                                                    what=f"bucket {settings.bucket}: an anonymous GET of {key}")
            if status != 200:
                raise PreflightError(
                    f"bucket {settings.bucket}: an anonymous GET of {key} answered {said_of(status, answered)}, "
                    f"but PUBLIC_MEDIA=true: allow s3:GetObject on {settings.bucket}/{settings.media_prefix}/* "
                    "in the bucket policy (invoke provision), or set PUBLIC_MEDIA=false")
        if settings.custom_domain:
            # The probe's name is new each run: a CDN cannot answer it from its cache (nor a cached 404).
            url = domain_url(settings, key)
            status, answered, _ = fetch_anonymously(url, settings, faults, most=len(body) + 4096,
                                                    what=f"{settings.custom_domain_key} {settings.custom_domain}: "
                                                         f"GET {url}")
            if problem := domain_problem(settings, url, (status, answered), body):
                raise PreflightError(problem)
    except PreflightError as first:
        # The probe's own failure is the news; a failed clean-up after it is only mentioned
        # (and not at all when nothing was put: a key refused the listing is refused the delete too).
        problem = _delete(settings, client, key)
        if put and problem:
            raise PreflightError(f"{first}; also, {problem}") from None
        raise
    except BaseException as error:  # Ctrl-C, the store unavailable: still clean up what may be there
        if tried or not isinstance(error, StoreUnavailable):
            _delete(settings, client, key)
        raise
    if problem := _delete(settings, client, key):
        raise PreflightError(problem)


def _delete(settings: Settings, client, key: str) -> str | None:
    """Delete the probe object; the operator-facing problem, or None."""
    try:
        with store_errors(settings, f"bucket {settings.bucket}: delete {key}", DEPLOY_KEY):
            client.delete_object(Bucket=settings.bucket, Key=key)
    except (PreflightError, StoreUnavailable) as problem:
        return str(problem)
    return None


def check_readable(settings: Settings, faults: FaultTally | None = None) -> None:
    """The read-only part of the probe, for dry runs."""
    client = s3_client(settings, faults=faults)
    with store_errors(settings, f"bucket {settings.bucket}: listing", DEPLOY_KEY):
        client.list_objects_v2(Bucket=settings.bucket, Prefix=settings.media_prefix + "/", MaxKeys=1)


def missing_keys(settings: Settings, keys: list[str], faults: FaultTally | None = None) -> list[str]:
    """The keys the bucket does not have, each looked up by a HEAD with the deploy key (one client for all);
    other errors are the store's, as one operator-facing error."""
    client, missing = s3_client(settings, faults=faults), []
    for key in keys:
        with store_errors(settings, f"looking up s3://{settings.bucket}/{key}", key=DEPLOY_KEY):
            try:
                client.head_object(Bucket=settings.bucket, Key=key)
            except client.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                missing.append(key)
    return missing


def md5chksums(settings: Settings, keys: list[str], faults: FaultTally | None = None) -> dict[str, str | None]:
    """Each key's ``X-Amz-Meta-Md5chksum`` (the whole-file MD5 rclone stores with a multipart upload,
    base64), or None where the object has none: a HEAD each, with the deploy key, one client for all."""
    client, found = s3_client(settings, faults=faults), {}
    for key in keys:
        with store_errors(settings, f"reading the metadata of s3://{settings.bucket}/{key}", key=DEPLOY_KEY):
            metadata = client.head_object(Bucket=settings.bucket, Key=key).get("Metadata") or {}
        found[key] = metadata.get("md5chksum")
    return found
