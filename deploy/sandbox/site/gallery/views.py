"""JSON endpoints the sandbox and the cutover tool probe: health, upload, list."""
import time

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from storages.backends.s3 import S3Storage

from .models import StoredFile


def active_storage_kind():
    """Say which backend really serves default_storage: "s3", "disk" or "other".

    Checked on the live storage object rather than trusting USE_S3, so a
    flag that disagrees with STORAGES shows up instead of being hidden.
    """
    serving = getattr(default_storage, "primary", default_storage)  # a mirror serves from its primary
    if isinstance(serving, S3Storage):
        return "s3"
    if isinstance(serving, FileSystemStorage):
        return "disk"
    return "other"


def mirroring():
    """Whether every save also goes to a second storage (media_mirror.MirrorStorage)."""
    return hasattr(default_storage, "secondary")


@require_GET
def healthz(request):
    """200 with this host's storage state, or 503 if the database is unusable."""
    body = {
        "status": "ok",
        "host": settings.SITE_HOST_NAME,
        "storage": active_storage_kind(),
        "mirror": mirroring(),
        "use_s3": settings.USE_S3,
        "media_url": settings.MEDIA_URL,
    }
    try:
        StoredFile.objects.exists()
    except DatabaseError as error:
        body.update(status="error", error=f"database: {error}")
        return JsonResponse(body, status=503)
    return JsonResponse(body)


@csrf_exempt
@require_POST
def upload(request):
    """Store the multipart field `file` through the default storage (201).

    `?delay=SECONDS` (at most 30) waits before storing, as a slow client or
    storage would: a test keeps an upload on an old worker across a reload.
    """
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse({"error": "multipart field 'file' is required"}, status=400)
    try:
        delay = float(request.GET.get("delay") or 0)
    except ValueError:
        return JsonResponse({"error": "delay must be a number of seconds"}, status=400)
    time.sleep(min(max(delay, 0.0), 30.0))
    stored = StoredFile.objects.create(file=uploaded, host=settings.SITE_HOST_NAME)
    # uploaded.size, not stored.file.size: the latter asks the storage (a HEAD on S3).
    body = {"name": stored.file.name, "url": stored.file.url, "size": uploaded.size}
    return JsonResponse(body, status=201)


def _non_negative_int(request, name):
    """Query parameter `name` as an int >= 0, None if absent; ValueError if bad."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    value = int(raw)
    if value < 0:
        raise ValueError(name)
    return value


@require_GET
def list_files(request):
    """Every StoredFile by id, with its URL; `count` is the total, not the page.

    Optional ?limit=N&offset=M page through the list. Sizes are null: finding
    them would cost a stat (or an S3 HEAD) per file.
    """
    try:
        limit = _non_negative_int(request, "limit")
        offset = _non_negative_int(request, "offset") or 0
    except ValueError:
        return JsonResponse({"error": "limit and offset must be integers >= 0"}, status=400)
    names = StoredFile.objects.order_by("id").values_list("file", flat=True)
    page = names[offset:] if limit is None else names[offset : offset + limit]
    files = [{"name": name, "url": default_storage.url(name), "size": None} for name in page]
    return JsonResponse({"files": files, "count": names.count()})
