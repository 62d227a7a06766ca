"""The shop site's pages: the gallery (HTML) and the gallery app's upload endpoint.

No /healthz and no JSON list: a stock site has neither. /media/ and /static/
are nginx's (from disk); Django serves neither here.
"""
from django.urls import path, re_path

from gallery import views as gallery_views

from . import views

urlpatterns = [
    path("", views.gallery),
    path("gallery/", views.gallery),
    # A trailing slash is optional: a redirected POST would lose its body.
    re_path(r"^upload/?$", gallery_views.upload),
]
