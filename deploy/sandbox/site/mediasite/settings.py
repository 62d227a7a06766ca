"""Django settings for the sandbox site.

Configuration comes from site.env beside the site directory (written by the
sandbox), loaded here so gunicorn and manage.py both see it without a wrapper.
Media storage lives in local_settings.py, imported last so it overrides.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .envfile import read_env_file

SITE_DIR = Path(__file__).resolve().parent.parent

# setdefault: a variable already in the process environment wins over the file.
# Everything goes into os.environ (not only into settings) so botocore also
# sees AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION.
for _key, _value in read_env_file().items():
    os.environ.setdefault(_key, _value)


def required_env(name):
    """Return environment variable `name`, or fail naming site.env."""
    try:
        return os.environ[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"{name} is not set (expected in {SITE_DIR / 'site.env'})"
        ) from None


SECRET_KEY = required_env("DJANGO_SECRET_KEY")
SITE_HOST_NAME = os.environ.get("SITE_HOST_NAME", "unknown")

DEBUG = False
ALLOWED_HOSTS = ["*"]

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
ROOT_URLCONF = "mediasite.urls"
WSGI_APPLICATION = "mediasite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# One SQLite file shared by both hosts' gunicorns: wait for the other
# writer's lock instead of failing at once, and take the write lock when a
# transaction starts so a read-then-write transaction cannot hit "database is
# locked" while upgrading its lock (the busy timeout does not cover that).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": required_env("DATABASE_PATH"),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}

MEDIA_ROOT = required_env("MEDIA_ROOT")
# Where the site serves MEDIA_ROOT from disk (urls.py), and its MEDIA_URL on disk (local_settings.py):
# /media/, or shape "staticmedia"'s /static/media/.
SITE_MEDIA_URL = os.environ.get("SITE_MEDIA_URL", "/media/")
STATIC_URL = "/static/"
STATIC_ROOT = SITE_DIR / "static"

# Both host users share a group and the media directory: new files and
# directories must stay group-writable whatever the process umask is.
FILE_UPLOAD_PERMISSIONS = 0o664
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o2775

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}

# Last, so the storage choice (the file the cutover tool edits) wins.
from .local_settings import *  # noqa: E402,F401,F403
