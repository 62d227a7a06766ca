"""Old media URLs for a site with no nginx in front: the file from disk while it is there, else a redirect to the bucket.

    # the site's root urls.py, after its own patterns:
    from media_redirect import old_media_urls
    urlpatterns += old_media_urls("/media/")   # the MEDIA_URL the disk served, before the switch

Put this file beside manage.py (`invoke settings-snippet --part=django-redirect` prints it with the
lines for urls.py).  After the switch settings.MEDIA_URL is the bucket's: the old path is given here.

- A name that is a file under MEDIA_ROOT is served from it (FileResponse: streamed, the type guessed from
  the name), as the disk did, for as long as it is there.
- Any other name answers 301 to the URL the default storage gives it, once that storage is not the disk
  (``path()`` is not implemented: django-storages' S3Storage, the mirror with the bucket as primary).
  A URL with a query (private media, querystring_auth=True: signed, and the signature expires) answers
  302 instead, ``Cache-Control: private, no-store``: a browser keeps a 301 for good, and would keep asking
  the expired URL; each request gets a freshly signed one.
- A name that leaves MEDIA_ROOT (``..``, an absolute path) is refused (404), as django.views.static.serve
  refuses it: ``safe_join``.  A symbolic link under MEDIA_ROOT is followed, as the disk's server did.
"""

import os
import re

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.urls import re_path
from django.utils._os import safe_join


def refused(name):
    """A name no storage is asked for: empty, or one that would leave MEDIA_ROOT."""
    return not name or "\x00" in name or name.startswith("/") or ".." in name.replace("\\", "/").split("/")


def disk_path(name):
    """The file under MEDIA_ROOT that ``name`` (the URL's path after the old MEDIA_URL, decoded) names, or
    None: not a file there, or outside MEDIA_ROOT."""
    if refused(name):
        return None
    try:
        path = safe_join(settings.MEDIA_ROOT, name)
    except (SuspiciousFileOperation, ValueError):
        return None
    return path if os.path.isfile(path) else None


def storage_is_disk():
    try:
        default_storage.path("media-cutover")
    except NotImplementedError:
        return False
    return True


def old_media(request, name):
    if refused(name):
        raise Http404("no such media file")
    path = disk_path(name)
    if path is not None:
        return FileResponse(open(path, "rb"))
    if storage_is_disk():
        raise Http404("no such media file")
    return redirect_to(default_storage.url(name))


def redirect_to(url):
    """301 to a plain URL; 302 to one with a query (signed: it expires), which no cache keeps."""
    if "?" not in url:
        return HttpResponsePermanentRedirect(url)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def old_media_urls(prefix="/media/"):
    """The URL pattern for the old MEDIA_URL's path (``/media/``, ``/static/media/``, ``/uploads/``; ``/``
    on a host of its own)."""
    base = prefix.strip("/")
    return [re_path(r"^%s(?P<name>.+)$" % (re.escape(base + "/") if base else ""), old_media,
                    name="media-cutover-old-media")]
