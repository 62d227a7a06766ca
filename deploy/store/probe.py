"""The bucket side: probes, anonymous fetches."""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message
from urllib.parse import quote

from ..config.types import Settings
from ..errors import PreflightError
from .client import s3_client
from .errors import DEPLOY_KEY, store_errors

def object_url(settings: Settings, key: str) -> str:
    return f"{settings.bucket_url}/{quote(key)}"


def anonymous_get(url: str, timeout: float = 10) -> tuple[int, bytes, Message]:
    """(status, body, headers) of a GET without credentials; status 0 when nothing answered.

    The headers stay an ``email.message.Message``, looked up case-insensitively: a
    store or CDN may send ``content-type`` in lower case.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, b"", error.headers
    except OSError as error:
        return 0, str(error).encode(), Message()


def probe(settings: Settings, key: str, check_public: bool) -> None:
    """Put, get (signed and, if media are public, anonymous) and delete one small object."""
    client = s3_client(settings)
    body = b"media-cutover preflight probe\n"
    # A listing limited to the prefix: a least-privilege key may not HEAD the bucket.
    steps = [("listing", lambda: client.list_objects_v2(Bucket=settings.bucket,
                                                        Prefix=settings.media_prefix + "/", MaxKeys=1)),
             (f"put {key}", lambda: client.put_object(Bucket=settings.bucket, Key=key, Body=body,
                                                      ContentType="text/plain")),
             (f"get {key}", lambda: client.get_object(Bucket=settings.bucket, Key=key)["Body"].read())]
    put = False
    try:
        for what, action in steps:
            with store_errors(settings, f"bucket {settings.bucket}: {what}", DEPLOY_KEY):
                result = action()
            put = put or what.startswith("put")
        if result != body:
            raise PreflightError(f"bucket {settings.bucket}: {key} read back differs from what was put")
        if check_public:
            status, _, _ = anonymous_get(object_url(settings, key))
            if status != 200:
                raise PreflightError(
                    f"bucket {settings.bucket}: an anonymous GET of {key} answered {status or 'nothing'}, "
                    f"but PUBLIC_MEDIA=true: allow s3:GetObject on {settings.bucket}/{settings.media_prefix}/* "
                    "in the bucket policy (invoke provision), or set PUBLIC_MEDIA=false")
    except PreflightError as first:
        # The probe's own failure is the news; a failed clean-up after it is only mentioned
        # (and not at all when nothing was put: a key refused the listing is refused the delete too).
        problem = _delete(settings, client, key)
        if put and problem:
            raise PreflightError(f"{first}; also, {problem}") from None
        raise
    except BaseException:  # Ctrl-C: still clean up
        _delete(settings, client, key)
        raise
    if problem := _delete(settings, client, key):
        raise PreflightError(problem)


def _delete(settings: Settings, client, key: str) -> str | None:
    """Delete the probe object; the operator-facing problem, or None."""
    try:
        with store_errors(settings, f"bucket {settings.bucket}: delete {key}", DEPLOY_KEY):
            client.delete_object(Bucket=settings.bucket, Key=key)
    except PreflightError as problem:
        return str(problem)
    return None


def check_readable(settings: Settings) -> None:
    """The read-only part of the probe, for dry runs."""
    client = s3_client(settings)
    with store_errors(settings, f"bucket {settings.bucket}: listing", DEPLOY_KEY):
        client.list_objects_v2(Bucket=settings.bucket, Prefix=settings.media_prefix + "/", MaxKeys=1)


def missing_keys(settings: Settings, keys: list[str]) -> list[str]:
    """The keys the bucket does not have, each looked up by a HEAD with the deploy key (one client for all);
    other errors are the store's, as one operator-facing error."""
    client, missing = s3_client(settings), []
    for key in keys:
        with store_errors(settings, f"looking up s3://{settings.bucket}/{key}", key=DEPLOY_KEY):
            try:
                client.head_object(Bucket=settings.bucket, Key=key)
            except client.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                missing.append(key)
    return missing


def md5chksums(settings: Settings, keys: list[str]) -> dict[str, str | None]:
    """Each key's ``X-Amz-Meta-Md5chksum`` (the whole-file MD5 rclone stores with a multipart upload,
    base64), or None where the object has none: a HEAD each, with the deploy key, one client for all."""
    client, found = s3_client(settings), {}
    for key in keys:
        with store_errors(settings, f"reading the metadata of s3://{settings.bucket}/{key}", key=DEPLOY_KEY):
            metadata = client.head_object(Bucket=settings.bucket, Key=key).get("Metadata") or {}
        found[key] = metadata.get("md5chksum")
    return found
