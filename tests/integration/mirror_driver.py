"""Run under the sandbox site's venv (Django, django-storages): the mirror storage against real backends.

    site-venv/bin/python mirror_driver.py MODULE_DIR MEDIA_ROOT FAILURES SCENARIO
    (the store in MIRROR_ENDPOINT, MIRROR_BUCKET, MIRROR_PREFIX; its key in AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY: the environment, never argv)

Prints one JSON object: what each storage holds after each operation.
"""

import io
import json
import os
import sys

module_dir, media_root, failures, scenario = sys.argv[1:5]
sys.path.insert(0, module_dir)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(MEDIA_ROOT=media_root, MEDIA_URL="/media/", USE_TZ=True)
django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import FileSystemStorage  # noqa: E402
from django.core.files.uploadedfile import TemporaryUploadedFile  # noqa: E402

import media_mirror  # noqa: E402

os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
S3 = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
    "bucket_name": os.environ["MIRROR_BUCKET"], "location": os.environ["MIRROR_PREFIX"],
    "endpoint_url": os.environ["MIRROR_ENDPOINT"], "region_name": "us-east-1", "addressing_style": "path",
    "access_key": os.environ["AWS_ACCESS_KEY_ID"], "secret_key": os.environ["AWS_SECRET_ACCESS_KEY"],
    "file_overwrite": False, "querystring_auth": False, "default_acl": None}}
DISK = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}


def holds(storage, name):
    return storage.exists(name) and storage.open(name).read().decode()


def state(mirror, names):
    return {name: {"primary": holds(mirror.primary, name), "secondary": holds(mirror.secondary, name)}
            for name in names}


out = {}
if scenario == "both":
    for label, primary, secondary in (("disk-primary", DISK, S3), ("s3-primary", S3, DISK)):
        mirror = media_mirror.MirrorStorage(primary, secondary, failures=failures)
        first = mirror.save(f"{label}/photo.jpg", ContentFile(b"first"))
        # The same name again: the primary picks a new one, and the secondary takes exactly that.
        second = mirror.save(f"{label}/photo.jpg", ContentFile(b"second"))
        # An upload Django holds as a file object (not a ContentFile): read twice, once a storage.
        third = mirror.save(f"{label}/streamed.bin", io.BytesIO(b"streamed bytes"))
        # A large upload, as Django hands it over: a temporary file a disk storage moves into place.
        large = TemporaryUploadedFile("large.bin", "application/octet-stream", 11, None)
        large.write(b"large bytes")
        large.seek(0)
        fourth = mirror.save(f"{label}/large.bin", large)
        record = {"names": [first, second, third, fourth], "saved": state(mirror, [first, second, third, fourth]),
                  "url": mirror.url(first), "primary_url": mirror.primary.url(first),
                  "size": mirror.size(second), "exists": mirror.exists(second),
                  "listdir": sorted(mirror.listdir(label)[1]),
                  "primary_is": type(mirror.primary).__name__}
        mirror.delete(first)
        record["after_delete"] = state(mirror, [first])
        out[label] = record
elif scenario == "secondary-down":
    # The store does not answer (nothing listens on its port): the disk primary, the bucket the failing secondary.
    from botocore.config import Config
    quick = {**S3, "OPTIONS": {**S3["OPTIONS"], "endpoint_url": os.environ["MIRROR_DOWN_ENDPOINT"], "client_config": Config(
        retries={"max_attempts": 2}, connect_timeout=2, read_timeout=5)}}
    mirror = media_mirror.MirrorStorage(DISK, quick, failures=failures)
    name = mirror.save("down/while-the-store-is-stopped.jpg", ContentFile(b"kept on disk"))
    out = {"name": name, "on_disk": FileSystemStorage().open(name).read().decode(),
           "exists": mirror.exists(name)}
    try:
        failing = media_mirror.MirrorStorage(quick, DISK, failures=failures)
        failing.save("down/primary-fails.jpg", ContentFile(b"never stored"))
        out["primary_failure"] = None
    except Exception as error:  # the primary's failure fails the upload, as without the mirror
        out["primary_failure"] = type(error).__name__
        out["disk_after_primary_failure"] = FileSystemStorage().exists("down/primary-fails.jpg")
print(json.dumps(out))
