"""The running site's settings (gunicorn sets DJANGO_SETTINGS_MODULE=shopsite.settings.production)."""
from .base import *  # noqa: F401,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# nginx in front passes the client's address; gunicorn trusts it from loopback only.
USE_X_FORWARDED_HOST = False

from .local import *  # noqa: E402,F401,F403
