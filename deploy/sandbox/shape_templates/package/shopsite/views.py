"""The gallery page: the newest files of the gallery app, as a visitor sees them."""
from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gallery.models import StoredFile

NEWEST = 30


@require_GET
def gallery(request):
    """HTML with the newest files as <img src> and <a href> of their storage URLs."""
    files = StoredFile.objects.order_by("-id")[:NEWEST]
    context = {"files": files, "host": settings.SITE_HOST_NAME, "settings_module": settings.SETTINGS_MODULE}
    return render(request, "shopsite/gallery.html", context)
