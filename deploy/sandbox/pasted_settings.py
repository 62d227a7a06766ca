"""The settings file of the shapes that take `invoke settings-snippet` as a new user would: pasted in.

Shapes "private" and "cdn" run shape (a)'s site whose ``mediasite/local_settings.py`` is the site's own
part (media on disk: FileSystemStorage, MEDIA_URL from SITE_MEDIA_URL) with, pasted below it, exactly
the block ``invoke settings-snippet --env=sandbox-<shape> --part=settings`` prints for the shape's
config.  Nothing of the block is written here: a snippet that does not work for a private bucket or a
custom domain fails the shape's cutover, which is the point.
"""

from __future__ import annotations

from ..config.types import Settings
from ..site.edits import snippet

SITE_PART = '''"""Where this host keeps media.  The site's own part first (media on disk); below it, pasted unchanged,
the block `invoke settings-snippet --env={env} --part=settings` printed (written by `invoke sandbox.up`).
"""
import os

STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}
MEDIA_URL = os.environ.get("SITE_MEDIA_URL", "/media/")

'''


def text(settings: Settings) -> str:
    """The shape's pristine settings file: the site's part, then the printed block (its switch off)."""
    return SITE_PART.format(env=settings.env) + snippet.settings_block(settings)
