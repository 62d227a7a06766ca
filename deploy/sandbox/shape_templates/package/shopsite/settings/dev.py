"""A developer's settings: what manage.py and wsgi.py default to."""
from .base import *  # noqa: F401,F403

DEBUG = True
ALLOWED_HOSTS = ["*"]

from .local import *  # noqa: E402,F401,F403
