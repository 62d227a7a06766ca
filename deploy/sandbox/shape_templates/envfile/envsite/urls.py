"""URL routes: the gallery app's JSON endpoints (/healthz kept), plus /media/ from disk."""
from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from gallery import views

urlpatterns = [
    re_path(r"^healthz/?$", views.healthz),
    re_path(r"^upload/?$", views.upload),
    re_path(r"^files/?$", views.list_files),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
