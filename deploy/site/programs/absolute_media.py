"""Absolute media and static URLs for e-mail templates.

    {% load absolute_media %}
    <img src="{% absolute_url object.photo.url %}">
    <img src="{% absolute_static 'img/logo.png' %}">

Mail clients have no page to resolve a relative URL against.  `absolute_url`
returns a URL that already has a scheme (the bucket, a CDN) unchanged and
prefixes a relative one (/static/..., /media/... on disk) with the request's
scheme and host, or with settings.SITE_URL when there is no request (mail sent
from a task).  Unlike the recipe's tag it never drops the domain because
USE_S3 is on: static files stay on the server.

Put this file in a `templatetags/` package of one of the site's apps.
"""
from urllib.parse import urljoin, urlsplit

from django import template
from django.conf import settings
from django.templatetags.static import static

register = template.Library()


def _base(context):
    request = context.get("request")
    if request is not None:
        return request.build_absolute_uri("/")
    return getattr(settings, "SITE_URL", "") or ""


def make_absolute(url, base):
    """`url` unchanged when it has a scheme; else joined to `base` (scheme://host[/path])."""
    url = str(url or "")
    if urlsplit(url).scheme:
        return url
    if not base:
        return url
    if url.startswith("//"):
        return f"{urlsplit(base).scheme or 'https'}:{url}"
    return urljoin(base.rstrip("/") + "/", url)


@register.simple_tag(takes_context=True)
def absolute_url(context, url):
    """A media or static URL (or a FieldFile) made absolute only if it is relative."""
    return make_absolute(getattr(url, "url", url), _base(context))


@register.simple_tag(takes_context=True)
def absolute_static(context, path):
    """Like {% static %}, but absolute."""
    return make_absolute(static(path), _base(context))
