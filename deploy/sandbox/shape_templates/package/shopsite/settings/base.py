"""Settings every environment of the shop site shares (in git: a deploy would undo an edit here).

Host-specific values come from site.env beside the project (written by the
sandbox, mode 600), loaded into os.environ so that django-storages and
botocore see them too; a variable already in the environment wins.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from ..envfile import read_env_file

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
SITE_ENV = PROJECT_DIR / "site.env"

for _key, _value in read_env_file(SITE_ENV).items():
    os.environ.setdefault(_key, _value)


def required_env(name):
    """Return environment variable `name`, or fail naming site.env."""
    try:
        return os.environ[name]
    except KeyError:
        raise ImproperlyConfigured(f"{name} is not set (expected in {SITE_ENV})") from None


SECRET_KEY = required_env("DJANGO_SECRET_KEY")
SITE_HOST_NAME = os.environ.get("SITE_HOST_NAME", "unknown")

DEBUG = False
ALLOWED_HOSTS = []

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
ROOT_URLCONF = "shopsite.urls"
WSGI_APPLICATION = "shopsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "shopsite" / "templates"],
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# One SQLite file shared by every sandbox site (see the sandbox's mediasite/settings.py).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": required_env("DATABASE_PATH"),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}

MEDIA_ROOT = required_env("MEDIA_ROOT")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
# Outside the host's home (mode 700): nginx serves it as the host's web root.
STATIC_ROOT = required_env("STATIC_ROOT")
STATICFILES_DIRS = [PROJECT_DIR / "static"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (site.<md5>.css), far-future caching: needs collectstatic's manifest.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# Every host user shares a group and the media directory; nginx reads it as "other".
FILE_UPLOAD_PERMISSIONS = 0o664
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o2775

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
