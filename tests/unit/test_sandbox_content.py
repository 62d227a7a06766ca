"""The sandbox site's seeded content (deploy/sandbox/site, run standalone on a throwaway SQLite, no port):
the migration, ``seed_content`` exactly as planned and idempotent, the article page, and the find of old
media URLs (deploy/site/facts/content_urls.py's command line) reporting exactly
``deploy.sandbox.seeded_content.expected_counts``."""

import json
import shutil
import subprocess

import pytest

from deploy.config.types import HostSettings
from deploy.sandbox import seeded_content as content, shapes
from deploy.sandbox.sites import TEMPLATE
from deploy.site.facts import content_urls
from deploy.site.facts.health import MediaBases, PageMedia, page_storage, urls_on_page

from .site_django import needs_django, site_python

pytestmark = needs_django

SITE_URL = "http://127.0.0.1:18101"
MEDIA_FILES = 100  # seed_media --count: 98 files content may name (the empty file and the symlink left out)
ROWS = 12


def manage(site, *arguments):
    done = subprocess.run([site_python(), "manage.py", *arguments], cwd=site, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The sandbox's site copied, its site.env pointing at a throwaway database and media directory."""
    root = tmp_path_factory.mktemp("sandbox-site")
    site = root / "site"
    shutil.copytree(TEMPLATE, site, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "media").mkdir()
    (site / "site.env").write_text(f"DJANGO_SECRET_KEY=unit\nSITE_HOST_NAME=web1\nSITE_PORT=18101\n"
                                   f"MEDIA_ROOT={root / 'media'}\nDATABASE_PATH={root / 'site.sqlite3'}\n"
                                   "AWS_STORAGE_BUCKET_NAME=bucket\nAWS_S3_ENDPOINT_URL=http://127.0.0.1:9\n")
    manage(site, "migrate", "--noinput", "-v", "0")
    manage(site, "seed_media", "--count", str(MEDIA_FILES), "--seed", "7")
    return site


def seed(site, rows=ROWS):
    return content.parse_seeded(manage(site, *content.seed_command(rows, SITE_URL).split()))


def test_the_models_match_their_migrations(site):
    assert "No changes detected" in manage(site, "makemigrations", "--check", "--dry-run")


def test_seeding_makes_the_planned_rows_once_and_puts_them_back_after_a_change(site):
    said, seeded = seed(site)
    assert said.startswith("content: seeded 12 articles holding 60 media URLs (body 36: 24 relative, 12 absolute;")
    counts = content.expected_counts(ROWS, MEDIA_FILES - 2)
    assert seeded == {"rows": ROWS, "files": MEDIA_FILES - 2, "site_url": SITE_URL, "media_url": "/media/",
                      "counts": counts.as_dict()}
    assert (counts.body_urls, counts.body_relative, counts.body_absolute) == (36, 24, 12)
    assert (counts.data_urls, counts.data_relative, counts.data_absolute, counts.names) == (24, 12, 12, 60)
    assert seed(site)[0].endswith("as planned already")
    manage(site, "shell", "-c", "from gallery.models import Article; "
                                "Article.objects.filter(slug='seed-000002').update(body='rewritten')")
    assert seed(site)[0].startswith("content: seeded 12")   # a rewrite is undone
    assert seed(site, rows=3)[1]["counts"]["rows"] == 3     # fewer rows: exactly those
    seed(site)


def test_the_find_reports_exactly_the_expected_counts(site):
    seed(site)
    forms = content_urls.url_forms("/media/", [SITE_URL, "http://127.0.0.1:18102"])
    host = HostSettings(alias="web1", settings_path=str(site / "mediasite" / "local_settings.py"),
                        reload_command="true", site_url=SITE_URL, health_url=None, manage_py=str(site / "manage.py"),
                        site_python=site_python())
    done = subprocess.run(content_urls.find_command(host, forms, names_limit=0), shell=True, executable="/bin/bash",
                          capture_output=True, text=True, timeout=120)
    report = content_urls.parse_find(done.stdout + done.stderr, "web1", forms)
    counts = content.expected_counts(ROWS, MEDIA_FILES - 2)
    found = {field.field: (field.rows, field.urls, field.names_total, field.on_disk)
             for field in report.fields if field.urls}
    assert found == {"gallery.Article.body": (ROWS, counts.body_urls, counts.body_names, counts.body_names),
                     "gallery.Article.data": (ROWS, counts.data_urls, counts.data_names, counts.data_names)}
    assert len(report.names()) == counts.names


def test_the_article_page_shows_the_cover_from_the_storage_and_the_contents_urls(site):
    seed(site)
    page = manage(site, "shell", "-c", "from django.test import Client; "
                                       "print(Client().get('/articles/seed-000001/').content.decode())")
    urls = urls_on_page(page.encode(), "text/html", SITE_URL + "/articles/seed-000001/")
    storage, media = page_storage(urls, MediaBases.of(SITE_URL, "http://store.test/bucket/media/", "/media/"))
    assert storage == "disk" and len(media) == 6   # the cover, the hero, 2 images and 2 links of the body and data
    row = content.article(0, ["a"] * 6, SITE_URL)
    assert row.slug == "seed-000001" and row.body.count("/media/a") == 3


def test_counts_wrap_round_a_small_tree():
    counts = content.expected_counts(12, 48)   # 72 places over 48 files; 6 divides 48: the covers' stay apart
    assert (counts.urls, counts.names, counts.body_names, counts.data_names) == (60, 40, 24, 16)


# --- shape "staticmedia": MEDIA_URL /static/media/ on disk, its own seeded content ------------------------

STATIC_SITE_URL = "http://127.0.0.1:18151"


@pytest.fixture(scope="module")
def staticmedia(tmp_path_factory):
    """The shape's files as the sandbox lays them out, its environment file and its own data commands."""
    root = tmp_path_factory.mktemp("staticmedia")
    site = root / "staticmedia"
    for relative, source in shapes.template_files(shapes.STATICMEDIA).items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, site / relative)
    (root / "media").mkdir()
    values = {"DJANGO_SECRET_KEY": "unit", "SITE_HOST_NAME": "web1", "SITE_PORT": "18151",
              "MEDIA_ROOT": str(root / "media"), "DATABASE_PATH": str(root / "site.sqlite3"),
              "AWS_STORAGE_BUCKET_NAME": "bucket", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9", **dict(
                  shapes.STATICMEDIA.site_env)}
    (site / "site.env").write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    said = [manage(site, *command.split()) for command in shapes.STATICMEDIA.own_data]
    assert "seeded 200 files" in said[1] and content.parse_seeded(said[2])[1]["counts"] == \
        content.expected_counts(content.DEFAULT_ROWS, shapes.STATICMEDIA_FILES - 2).as_dict()
    return site


def page(site, path, use_s3=False):
    """A page as the site renders it, with USE_S3 as given (S3Storage builds its URLs without a request)."""
    local = site / "mediasite" / "local_settings.py"
    pristine = local.read_text()
    if use_s3:
        local.write_text(pristine.replace("USE_S3 = False", "USE_S3 = True", 1))
    try:
        return manage(site, "shell", "-v", "0", "-c",
                      f"from django.test import Client; print(Client().get({path!r}).content.decode())")
    finally:
        local.write_text(pristine)


def test_the_staticmedia_shape_serves_its_media_under_static_media_and_its_content_holds_such_urls(staticmedia):
    bases = MediaBases.of(STATIC_SITE_URL, "http://127.0.0.1:9/bucket/media/", "/static/media/")
    listed = json.loads(page(staticmedia, "/files/?limit=5"))["files"]
    assert all(item["url"].startswith("/static/media/user_media/") for item in listed)
    article = page(staticmedia, "/articles/seed-000001/")
    found = PageMedia.of(urls_on_page(article.encode(), "text/html", STATIC_SITE_URL + "/articles/seed-000001/"),
                         bases)
    assert found.storage("disk") == "disk" and len(found.disk) == 6 and "/media/" not in article.replace(
        "/static/media/", "")
    # after the switch the cover is in the bucket; the content's five URLs are content references on web1
    on_s3 = page(staticmedia, "/articles/seed-000001/", use_s3=True)
    found = PageMedia.of(urls_on_page(on_s3.encode(), "text/html", STATIC_SITE_URL + "/articles/seed-000001/"),
                         bases)
    assert found.storage("s3") == "s3" and len(found.bucket) == 1 and len(found.content_references("s3")) == 5
    assert found.storage("disk") == "mixed"   # on the way back to disk this page would be a failed rollback
    served = PageMedia.of(urls_on_page(article.encode(), "text/html", STATIC_SITE_URL + "/articles/x/"),
                          MediaBases.of(STATIC_SITE_URL, "http://127.0.0.1:9/bucket/media/", "/media/"))
    assert served.storage() == ""   # read by Django's usual /media/, the page shows no media URL at all


def test_the_find_reports_the_staticmedia_shapes_counts(staticmedia):
    forms = content_urls.url_forms("/static/media/", [STATIC_SITE_URL, "http://127.0.0.1:18152"])
    host = HostSettings(alias="web1", settings_path=str(staticmedia / "mediasite" / "local_settings.py"),
                        reload_command="true", site_url=STATIC_SITE_URL, health_url=None,
                        manage_py=str(staticmedia / "manage.py"), site_python=site_python())
    done = subprocess.run(content_urls.find_command(host, forms, names_limit=0), shell=True, executable="/bin/bash",
                          capture_output=True, text=True, timeout=120)
    report = content_urls.parse_find(done.stdout + done.stderr, "web1", forms)
    counts = content.expected_counts(content.DEFAULT_ROWS, shapes.STATICMEDIA_FILES - 2)
    assert {field.field: (field.rows, field.urls, field.on_disk) for field in report.fields if field.urls} == {
        "gallery.Article.body": (24, counts.body_urls, counts.body_names),
        "gallery.Article.data": (24, counts.data_urls, counts.data_names)}
    assert (counts.body_urls, counts.data_urls, counts.names) == (72, 48, 120)
