"""Where this host keeps media: local disk (MEDIA_ROOT) or the S3 bucket, the recipe's way.

Written after the old django-storages recipe: inside `if USE_S3:` only the
pre-4.2 names. Django 5.1 removed DEFAULT_FILE_STORAGE (and easy-thumbnails 2.10
reads THUMBNAIL_DEFAULT_STORAGE_ALIAS): Django 5.2 ignores both, so with USE_S3 =
True the site still stores on disk while MEDIA_URL points at the bucket.
"""
import os

USE_S3 = False

if USE_S3:
    AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID")
    AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY")
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")
    AWS_LOCATION = os.environ.get("AWS_LOCATION", "media")
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = False
    AWS_S3_FILE_OVERWRITE = False
    AWS_S3_ADDRESSING_STYLE = "path"
    AWS_S3_OBJECT_PARAMETERS = {"CacheControl": os.environ.get("CACHE_CONTROL", "max-age=86400, public")}
    DEFAULT_FILE_STORAGE = "storages.backends.s3boto3.S3Boto3Storage"
    THUMBNAIL_DEFAULT_STORAGE = DEFAULT_FILE_STORAGE
    MEDIA_URL = f"{AWS_S3_ENDPOINT_URL}/{AWS_STORAGE_BUCKET_NAME}/{AWS_LOCATION}/"
else:
    MEDIA_URL = "/media/"
