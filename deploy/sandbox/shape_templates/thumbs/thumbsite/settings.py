"""Shape "thumbs": the default site (mediasite, with its local_settings.py and USE_S3 switch) plus
easy_thumbnails and sorl-thumbnail, pages that render thumbnails of seeded photos, and a database
and media directory of its own (its thumbnails and rows never mix with the other shapes').

Neither library is configured for the switch: easy_thumbnails' alias "easy_thumbnails" is not in
STORAGES, so it follows the default storage; sorl-thumbnail's THUMBNAIL_STORAGE is its default,
"default".  Flipping USE_S3 moves both with the media, as the settings snippet's block does.
"""
from mediasite.settings import *  # noqa: F401,F403
from mediasite.settings import INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["easy_thumbnails", "sorl.thumbnail", "thumbsite"]
ROOT_URLCONF = "thumbsite.urls"
WSGI_APPLICATION = "thumbsite.wsgi.application"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

# The sizes the pages render (seed_thumbs renders the same ones on disk first, as a site that ran a while).
THUMBNAIL_ALIASES = {"": {"small": {"size": (64, 64), "crop": True}, "large": {"size": (240, 180)}}}
SORL_GEOMETRIES = (("64x64", {"crop": "center"}), ("240x180", {}))
THUMBNAIL_DEBUG = True  # sorl: a thumbnail that cannot be made fails the page instead of rendering nothing
