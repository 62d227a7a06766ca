"""The sandbox's seeded content: articles whose rich text and JSON store media URLs, as real sites' do.

Pure (the stdlib only): ``manage.py seed_content`` builds its rows with it inside the site, and the tool
loads it by path (``deploy.sandbox.seeded_content``) for the exact counts a find of old media URLs must report.

Article ``i`` (0-based; slug ``seed-000001`` for i = 0) names FILES_PER_ROW distinct seeded files, the
seeded files (StoredFile rows of host "seed" by id, the empty file and the symlink left out) taken in
turn from index ``FILES_PER_ROW * i``, wrapping round when there are fewer files than that needs:

    cover   a FileField: a name (it follows the storage: no URL in the content)
    body    rich text (HTML): ``<img src="/media/B">``, ``<img src="/media/C">`` (relative) and
            ``<a href="http://<site host:port>/media/D">`` (absolute, on SITE_URL's host), plus a link to
            https://www.djangoproject.com/ that is no media URL
    data    JSON: ``{"hero": {"url": "/media/E"}, "attachments": [{"url": "http://<site>/media/F"}]}``

So each article holds 5 old media URLs: body 3 (2 relative, 1 absolute), data 2 (1 relative, 1 absolute).
Names are %-encoded as Django's FileField.url gives them (``Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln%2012.jpg``).
"""

from dataclasses import dataclass
from urllib.parse import quote

SLUG_PREFIX = "seed-"
FILES_PER_ROW = 6          # the cover and the 5 URLs
BODY_RELATIVE, BODY_ABSOLUTE = 2, 1
DATA_RELATIVE, DATA_ABSOLUTE = 1, 1
DEFAULT_ROWS = 24          # `invoke sandbox.up` without --content-rows
OTHER_LINK = "https://www.djangoproject.com/"


@dataclass(frozen=True)
class ContentCounts:
    """What the seeded content holds: rows, URLs per field and form, the distinct files the URLs name."""

    rows: int
    body_urls: int
    body_relative: int
    body_absolute: int
    data_urls: int
    data_relative: int
    data_absolute: int
    names: int             # distinct file names the URLs name (a find's names_total over both fields)
    body_names: int
    data_names: int

    @property
    def urls(self) -> int:
        return self.body_urls + self.data_urls

    def as_dict(self) -> dict:
        return {**self.__dict__, "urls": self.urls}


@dataclass(frozen=True)
class ArticleRow:
    slug: str
    title: str
    cover: str    # a name under MEDIA_ROOT
    body: str
    data: dict


def file_url(media_url: str, name: str) -> str:
    """``media_url`` + the name %-encoded the way Django's filepath_to_uri does."""
    return media_url + quote(name, safe="/~!*()'")


def _names(files: list, index: int) -> list:
    return [files[(FILES_PER_ROW * index + offset) % len(files)] for offset in range(FILES_PER_ROW)]


def article(index: int, files: list, site_url: str, media_url: str = "/media/") -> ArticleRow:
    """Article ``index`` over the seeded ``files``; ``site_url`` (http://127.0.0.1:18101) gives the absolute
    URLs' host, ``media_url`` the disk MEDIA_URL the content was written under."""
    if not files:
        raise ValueError("no seeded files to name: seed the media first")
    cover, img_a, img_b, linked, hero, attachment = _names(files, index)
    absolute = site_url.rstrip("/") + media_url
    number = index + 1
    body = (f"<h2>Article {number}</h2>\n"
            f'<p><img src="{file_url(media_url, img_a)}" alt="first photo"></p>\n'
            f'<p>As uploaded in the editor; <a href="{file_url(absolute, linked)}">the original</a>, '
            f'pasted with the site\'s address. More on <a href="{OTHER_LINK}">Django</a>.</p>\n'
            f'<figure><img src="{file_url(media_url, img_b)}" alt="second photo"><figcaption>Photo {number}'
            "</figcaption></figure>\n")
    data = {"hero": {"url": file_url(media_url, hero), "alt": f"hero {number}"},
            "attachments": [{"url": file_url(absolute, attachment), "title": f"attachment {number}"}],
            "layout": "wide"}
    return ArticleRow(f"{SLUG_PREFIX}{number:06d}", f"Article {number}", cover, body, data)


def articles(rows: int, files: list, site_url: str, media_url: str = "/media/"):
    """The ``rows`` seeded articles, by slug."""
    for index in range(rows):
        yield article(index, files, site_url, media_url)


def expected_counts(rows: int, files: int) -> ContentCounts:
    """What ``rows`` seeded articles over ``files`` seeded files (the empty file and the symlink left out)
    hold: a find of the old media URLs (relative ones and those on SITE_URL's host) must report exactly
    this.  Every article holds each URL, so the rows a field reports are ``rows``."""
    if rows and files <= 0:
        raise ValueError("no seeded files")
    def distinct(offsets) -> int:
        return len({(FILES_PER_ROW * index + offset) % files for index in range(rows) for offset in offsets})
    body, data = (1, 2, 3), (4, 5)
    return ContentCounts(rows=rows, body_urls=rows * (BODY_RELATIVE + BODY_ABSOLUTE),
                         body_relative=rows * BODY_RELATIVE, body_absolute=rows * BODY_ABSOLUTE,
                         data_urls=rows * (DATA_RELATIVE + DATA_ABSOLUTE), data_relative=rows * DATA_RELATIVE,
                         data_absolute=rows * DATA_ABSOLUTE, names=distinct(body + data) if rows else 0,
                         body_names=distinct(body) if rows else 0, data_names=distinct(data) if rows else 0)
