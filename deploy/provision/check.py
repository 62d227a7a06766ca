"""The recipe's step 4, automated: what the provisioned key can and cannot do.

With the new key: put an image under the prefix, fetch it anonymously by its
public URL, find that a missing key under the prefix answers 404 (what
django-storages' ``exists()`` needs), list the prefix, delete the image.  And
the refusals: anonymous listing, writes beside the prefix, writes to another
bucket (a scratch bucket the admin key makes and removes).
"""

from __future__ import annotations

import secrets
import struct
import time
import zlib
from typing import Callable

import botocore.exceptions

from ..config.types import Settings
from ..errors import ProvisionError
from ..store.client import s3_client
from ..store.errors import error_code
from ..store.probe import anonymous_get, object_url



def tiny_png() -> bytes:
    """A 1x1 transparent PNG: the smallest real image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 5))
            + chunk(b"IEND", b""))


PNG = tiny_png()
# What a new key or a fresh policy answers while IAM propagates (seconds on AWS).
PROPAGATING = {"InvalidAccessKeyId", "AccessDenied", "SignatureDoesNotMatch", "403"}
DENIED = {"AccessDenied", "403", "Forbidden"}


def _eventually(call, timeout: float, retry_on=PROPAGATING):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except botocore.exceptions.ClientError as error:
            if error_code(error) not in retry_on or time.monotonic() >= deadline:
                raise
            time.sleep(1)


def _denied(call) -> tuple[bool, str]:
    """(refused as it should be, what the store said)."""
    try:
        call()
        return False, "allowed"
    except botocore.exceptions.ClientError as error:
        code = error_code(error)
        return code in DENIED, code


def check_key(settings: Settings, admin: Settings, say: Callable[[str], None] = print,
           timeout: float = 30.0) -> None:
    """Exercise the deploy key in ``settings``; raise ProvisionError naming every failed check."""
    key_client, admin_client = s3_client(settings), s3_client(admin)
    bucket, prefix = settings.bucket, settings.media_prefix
    token = secrets.token_hex(6)
    image = f"{prefix}/.media-cutover-provision-check-{token}.png"
    beside = [f".media-cutover-provision-check-{token}.txt", f"{prefix}-beside/.media-cutover-check-{token}.txt"]
    scratch = f"media-cutover-check-{token}"
    failures: list[str] = []
    leftovers: list[tuple[str, str]] = []

    def check(ok: bool, passed: str, failed: str) -> None:
        say(f"check   {passed if ok else 'FAILED: ' + failed}")
        if not ok:
            failures.append(failed)

    try:
        try:
            _eventually(lambda: key_client.put_object(Bucket=bucket, Key=image, Body=PNG, ContentType="image/png"),
                        timeout)
            leftovers.append((bucket, image))
        except botocore.exceptions.ClientError as error:
            raise ProvisionError(f"the provisioned key {settings.access_key_id} cannot put {image} "
                                 f"({error_code(error)}); nothing else was checked") from None
        check(True, f"the key put {image}", "")
        body = key_client.get_object(Bucket=bucket, Key=image)["Body"].read()
        check(body == PNG, "the key read it back", f"the key read back other bytes than it put in {image}")

        url = object_url(settings, image)
        if settings.public_media:
            status, fetched, headers = _anonymous(url, timeout, want=200)
            check(status == 200 and fetched == PNG and headers.get("Content-Type", "").startswith("image/png"),
                  f"anyone can GET {url}",
                  f"an anonymous GET of {url} answered {status or 'nothing'} (expected 200 with the image)")
        else:
            status, _, _ = anonymous_get(url)
            check(status in (401, 403), f"anonymous GET of {url} refused (PUBLIC_MEDIA=false)",
                  f"an anonymous GET of {url} answered {status} though PUBLIC_MEDIA=false")

        missing = f"{prefix}/.media-cutover-missing-{token}.png"
        try:
            key_client.head_object(Bucket=bucket, Key=missing)
            status = 200
        except botocore.exceptions.ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        check(status == 404, "a missing key under the prefix answers 404 (django-storages' exists())",
              f"HEAD of missing {missing} answered {status}, not 404: uploads through django-storages "
              "would fail")

        try:
            listed = key_client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/", MaxKeys=1000)
            names = {item["Key"] for item in listed.get("Contents", [])}
            check(image in names or listed.get("IsTruncated", False), f"the key lists {prefix}/",
                  f"the key's listing of {prefix}/ lacks {image}")
        except botocore.exceptions.ClientError as error:
            check(False, "", f"the key cannot list {prefix}/ ({error_code(error)})")

        status, _, _ = anonymous_get(f"{settings.bucket_url}?list-type=2&prefix={prefix}/")
        check(status in (401, 403), "anonymous listing is refused",
              f"an anonymous listing of {bucket} answered {status or 'nothing'} (expected 403)")

        for key in beside:
            refused, said = _denied(lambda key=key: key_client.put_object(Bucket=bucket, Key=key, Body=b"x"))
            if said == "allowed":
                leftovers.append((bucket, key))
            check(refused, f"the key may not write {key} (outside {prefix}/)",
                  f"the key could write {key}, outside {prefix}/ ({said})")

        admin_client.create_bucket(Bucket=scratch, **_location(settings))
        leftovers.append((scratch, ""))
        refused, said = _denied(lambda: key_client.put_object(Bucket=scratch, Key=f"{prefix}/x.txt", Body=b"x"))
        if said == "allowed":
            leftovers.insert(0, (scratch, f"{prefix}/x.txt"))
        check(refused, f"the key may not write to another bucket ({scratch})",
              f"the key could write to another bucket, {scratch} ({said})")

        key_client.delete_object(Bucket=bucket, Key=image)
        leftovers.remove((bucket, image))
        status, _, _ = anonymous_get(url)
        check(status in (403, 404), f"the key deleted {image}", f"{image} still answers {status} after delete")
    finally:
        for problem in _clean(admin_client, leftovers):
            say(f"warning: {problem}")
    if failures:
        raise ProvisionError(f"the provisioned key failed {len(failures)} check(s): " + "; ".join(failures))


def _anonymous(url: str, timeout: float, want: int) -> tuple[int, bytes, dict]:
    """An anonymous GET, repeated while a fresh bucket policy propagates."""
    deadline = time.monotonic() + timeout
    while True:
        status, body, headers = anonymous_get(url)
        if status == want or time.monotonic() >= deadline:
            return status, body, headers
        time.sleep(1)


def _location(settings: Settings) -> dict:
    if settings.region != "us-east-1" and not settings.endpoint_url:
        return {"CreateBucketConfiguration": {"LocationConstraint": settings.region}}
    return {}


def _clean(admin_client, leftovers: list[tuple[str, str]]) -> list[str]:
    """Remove what the checks left (admin key), objects before the scratch bucket; returns what failed."""
    problems = []
    for bucket, key in leftovers:
        try:
            if key:
                admin_client.delete_object(Bucket=bucket, Key=key)
            else:
                admin_client.delete_bucket(Bucket=bucket)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            problems.append(f"could not remove {bucket}/{key} after the checks ({error_code(error)}): "
                            "remove it by hand")
    return problems
