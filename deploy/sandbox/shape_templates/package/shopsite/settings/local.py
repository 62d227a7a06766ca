"""This host's own settings (operator-owned, not in git): where media live.

The media-cutover tool flips ONLY the `USE_S3 = ...` line below. The S3 block
changes STORAGES["default"] and MEDIA_URL and nothing else: the staticfiles
backend (ManifestStaticFilesStorage, hashed static URLs) stays as base.py set it.
The values read os.environ, which base.py filled from site.env.
"""
import os

from .base import STORAGES

USE_S3 = False

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")
AWS_LOCATION = os.environ.get("AWS_LOCATION", "media")
AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY")
CACHE_CONTROL = os.environ.get("CACHE_CONTROL", "max-age=86400, public")

if USE_S3:
    STORAGES["default"] = {
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
    MEDIA_URL = f"{AWS_S3_ENDPOINT_URL}/{AWS_STORAGE_BUCKET_NAME}/{AWS_LOCATION}/"
