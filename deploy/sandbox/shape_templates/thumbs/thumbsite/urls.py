"""The default site's routes (/healthz, /files/, /upload/, /media/), plus the two thumbnail pages."""
from django.urls import re_path

from mediasite.urls import urlpatterns as site_urlpatterns

from . import views

urlpatterns = site_urlpatterns + [
    re_path(r"^easy/?$", views.easy),
    re_path(r"^sorl/?$", views.sorl),
]
