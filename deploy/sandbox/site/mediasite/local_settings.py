"""Where this host keeps media: local disk (MEDIA_ROOT) or the S3 bucket.

The media-cutover tool flips ONLY the `USE_S3 = ...` line below (and, with CHANGEOVER=mirror, the
`MEDIA_MIRROR = ...` one), then reloads gunicorn; leave them plain True/False. Everything else is
fixed, and reads os.environ, which settings.py filled from site.env.
"""
import os

USE_S3 = False
# With MEDIA_MIRROR on, the default storage is media_mirror.MirrorStorage (media_mirror.py beside
# manage.py, as `invoke settings-snippet --part=mirror` prints it): every upload is written to the
# disk and to the bucket, and read from the one USE_S3 selects.
MEDIA_MIRROR = False

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")
AWS_LOCATION = os.environ.get("AWS_LOCATION", "media")
AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY")
CACHE_CONTROL = os.environ.get("CACHE_CONTROL", "max-age=86400, public")

_S3_MEDIA = {
    "BACKEND": "storages.backends.s3.S3Storage",
    "OPTIONS": {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "location": AWS_LOCATION,
        "endpoint_url": AWS_S3_ENDPOINT_URL,
        "region_name": AWS_S3_REGION_NAME,
        "access_key": AWS_ACCESS_KEY_ID,
        "secret_key": AWS_SECRET_ACCESS_KEY,
        "default_acl": None,  # the bucket policy decides who can read
        "querystring_auth": False,  # plain, stable URLs
        "file_overwrite": False,  # same name again -> new key, like disk
        "object_parameters": {"CacheControl": CACHE_CONTROL},
        "addressing_style": "path",  # endpoint/bucket/key, as in MEDIA_URL
    },
}
_DISK_MEDIA = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
_MEDIA = _S3_MEDIA if USE_S3 else _DISK_MEDIA
if MEDIA_MIRROR:
    from botocore.config import Config

    # The bucket as the second storage gives up quickly: a store that does not answer must not hold
    # the user's upload (the failure is recorded, and the tool's verify copies the file).
    _S3_SECONDARY = {**_S3_MEDIA, "OPTIONS": {**_S3_MEDIA["OPTIONS"], "client_config": Config(
        s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=4, retries={"total_max_attempts": 1})}}
    _MEDIA = {"BACKEND": "media_mirror.MirrorStorage", "OPTIONS": {
        "primary": _MEDIA, "secondary": _DISK_MEDIA if USE_S3 else _S3_SECONDARY}}

STORAGES = {
    "default": _MEDIA,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# On disk: /media/, or the site's own (shape "staticmedia": /static/media/, the recipe era's; site.env's SITE_MEDIA_URL).
_DISK_MEDIA_URL = os.environ.get("SITE_MEDIA_URL", "/media/")
MEDIA_URL = f"{AWS_S3_ENDPOINT_URL}/{AWS_STORAGE_BUCKET_NAME}/{AWS_LOCATION}/" if USE_S3 else _DISK_MEDIA_URL
