"""Endpoints the sandbox and the cutover tool probe: health, upload, list (JSON); articles (HTML)."""
import time

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from storages.backends.s3 import S3Storage

from .models import Article, StoredFile


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


ARTICLES_SHOWN = 50


@require_GET
def article(request, slug):
    """One article as a rich-text site renders it: the cover's URL from the storage (it follows the switch),
    the body's HTML as stored, and the JSON's media URLs (hero image, attachments) as stored."""
    found = Article.objects.filter(slug=slug).first()
    if found is None:
        raise Http404(f"no article {slug}")
    data = found.data if isinstance(found.data, dict) else {}
    hero = data.get("hero") or {}
    attachments = [item for item in data.get("attachments") or [] if isinstance(item, dict) and item.get("url")]
    parts = [format_html("<!doctype html><html><head><title>{}</title></head><body><article><h1>{}</h1>",
                         found.title, found.title)]
    if found.cover:
        parts.append(format_html('<img class="cover" src="{}" alt="cover">', found.cover.url))
    if hero.get("url"):
        parts.append(format_html('<img class="hero" src="{}" alt="{}">', hero["url"], hero.get("alt", "")))
    parts.append(mark_safe(found.body))  # rich text is stored as HTML, and shown as it is
    if attachments:
        parts.append(format_html("<ul>{}</ul>", format_html_join(
            "", '<li><a href="{}">{}</a></li>', ((item["url"], item.get("title", "")) for item in attachments))))
    parts.append(mark_safe("</article></body></html>"))
    return HttpResponse("".join(parts), content_type="text/html; charset=utf-8")


@require_GET
def articles(request):
    """The first articles by slug, linked (their covers and content are on their own pages)."""
    slugs = Article.objects.order_by("slug").values_list("slug", "title")[:ARTICLES_SHOWN]
    items = format_html_join("", '<li><a href="/articles/{}/">{}</a></li>', slugs)
    return HttpResponse(format_html("<!doctype html><html><body><ul>{}</ul></body></html>", items),
                        content_type="text/html; charset=utf-8")
