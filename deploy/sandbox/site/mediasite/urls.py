"""URL routes: the gallery app's JSON endpoints and article pages, plus the media from disk (/media/, or
SITE_MEDIA_URL: shape "staticmedia"'s /static/media/)."""
import re

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from gallery import views

# A trailing slash is optional so clients need no redirect (a redirected POST
# would lose its body). The media path is mounted whatever USE_S3 and DEBUG say:
# disk URLs must keep working while, and after, media moves to S3.
urlpatterns = [
    re_path(r"^healthz/?$", views.healthz),
    re_path(r"^upload/?$", views.upload),
    re_path(r"^files/?$", views.list_files),
    re_path(r"^articles/?$", views.articles),
    re_path(r"^articles/(?P<slug>[-\w]+)/?$", views.article),
    re_path(rf"^{re.escape(getattr(settings, 'SITE_MEDIA_URL', '/media/').strip('/'))}/(?P<path>.*)$", serve,
            {"document_root": settings.MEDIA_ROOT}),
]
