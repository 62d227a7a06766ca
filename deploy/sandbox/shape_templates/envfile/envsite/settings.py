"""Settings of the env-configured site, the way cookiecutter-style projects write them.

django-environ reads `.env` beside the project into os.environ (a variable the
process already has wins, as with a systemd EnvironmentFile); everything below
comes from there. The storage switch is the `USE_S3=` line of that file.
"""
from pathlib import Path

import environ

PROJECT_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(PROJECT_DIR / ".env")

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
SITE_HOST_NAME = env("SITE_HOST_NAME", default="unknown")

# The same apps as every sandbox site: they share one database and its migrations.
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "storages",
    "gallery",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "envsite.urls"
WSGI_APPLICATION = "envsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {"default": env.db("DATABASE_URL")}
# The SQLite file is shared by every sandbox site (see the sandbox's mediasite/settings.py).
DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

MEDIA_ROOT = env("MEDIA_ROOT")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = PROJECT_DIR / "staticfiles"
FILE_UPLOAD_PERMISSIONS = 0o664
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o2775

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

USE_S3 = env.bool("USE_S3", default=False)

AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="us-east-1")
AWS_LOCATION = env("AWS_LOCATION", default="media")
CACHE_CONTROL = env("CACHE_CONTROL", default="max-age=86400, public")

if USE_S3:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "location": AWS_LOCATION,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
            # The keys stay in the environment (AWS_ACCESS_KEY_ID/_SECRET_ACCESS_KEY), where boto3 finds them.
            "default_acl": None,
            "querystring_auth": False,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": CACHE_CONTROL},
            "addressing_style": "path",
        },
    }
    MEDIA_URL = f"{AWS_S3_ENDPOINT_URL}/{AWS_STORAGE_BUCKET_NAME}/{AWS_LOCATION}/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
