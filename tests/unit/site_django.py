"""A real Django for the unit tests of the programs run in the site: the sandbox's site virtualenv.

The unit suite runs in the project's virtualenv, which has no Django.  ``invoke sandbox.up`` makes
``.sandbox/site-venv`` (Django 5.2, django-storages) in the checkout; a git worktree uses its main
checkout's.  MEDIA_CUTOVER_SITE_PYTHON names another Python with Django.  Without one the tests that need
it are skipped (``needs_django``).

``make_site`` writes a throwaway project (settings, manage.py, an app whose models hold media URLs the ways
real sites do) and creates its SQLite tables in one Django start-up.
"""

from __future__ import annotations

import functools
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def site_python() -> str | None:
    candidates = [os.environ.get("MEDIA_CUTOVER_SITE_PYTHON"), ROOT / ".sandbox/site-venv/bin/python"]
    common = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            capture_output=True, text=True)
    if common.returncode == 0:  # a worktree: its main checkout's sandbox
        candidates.append(Path(common.stdout.strip()).parent / ".sandbox/site-venv/bin/python")
    for candidate in filter(None, candidates):
        if Path(candidate).is_file() and subprocess.run([str(candidate), "-c", "import django"],
                                                        capture_output=True).returncode == 0:
            return str(candidate)
    return None


needs_django = pytest.mark.skipif(site_python() is None, reason="no Python with Django (invoke sandbox.up makes "
                                                                  ".sandbox/site-venv; or MEDIA_CUTOVER_SITE_PYTHON)")

MODELS = '''
import uuid
from django.db import models


class RichTextField(models.TextField):      # django-ckeditor's, Mezzanine's
    pass


class FileBrowseField(models.CharField):    # django-filebrowser's, Mezzanine's: a path, not a FileField
    pass


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(null=True, blank=True)
    image_path = models.CharField(max_length=200, blank=True)
    slug = models.SlugField(blank=True)


class PostProxy(Post):
    class Meta:
        proxy = True


class Article(Post):                         # multi-table: Post's fields stay Post's
    summary = RichTextField(blank=True)


class Page(models.Model):
    content = RichTextField(blank=True)
    picture = FileBrowseField(max_length=200, blank=True)


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    text = models.TextField()


class Attachment(models.Model):             # django-summernote's: name is the upload's label, not a path
    name = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to="django-summernote/%Y-%m-%d/")
'''


def make_site(root: Path, media_url: str, seed: str, files=(), models: str = MODELS) -> Path:
    """A project under ``root``: settings (SQLite, MEDIA_URL ``media_url``, MEDIA_ROOT root/media), settings_s3
    (the same with django-storages' S3Storage as default, URLs on a custom domain: no request is made),
    manage.py, the app ``blog`` (``models`` its models.py); its tables made and ``seed`` (Python, the models
    imported) run."""
    (root / "blog").mkdir(parents=True)
    (root / "blog" / "__init__.py").write_text("")
    (root / "blog" / "models.py").write_text(models)
    for name in files:
        path = root / "media" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (root / "settings.py").write_text(textwrap.dedent(f'''
        import os
        BASE = os.path.dirname(os.path.abspath(__file__))
        SECRET_KEY = "unit"
        INSTALLED_APPS = ["blog"]
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(BASE, "db.sqlite3")}}}}
        MEDIA_URL = {media_url!r}
        MEDIA_ROOT = os.path.join(BASE, "media")
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        USE_TZ = True
    '''))
    (root / "settings_s3.py").write_text(textwrap.dedent('''
        from settings import *  # noqa
        STORAGES = {"default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": "media-bucket", "location": "media", "custom_domain": "media-bucket.s3.example.test",
            "access_key": "unit", "secret_key": "unit", "querystring_auth": False}},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        MEDIA_URL = "https://media-bucket.s3.example.test/media/"
    '''))
    (root / "manage.py").write_text("import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n"
                                    "from django.core.management import execute_from_command_line\n"
                                    "execute_from_command_line(sys.argv)\n")
    setup = ("import django, os, sys\nos.environ['DJANGO_SETTINGS_MODULE'] = 'settings'\nsys.path.insert(0, '.')\n"
             "django.setup()\nfrom django.core.management import call_command\n"
             "call_command('migrate', run_syncdb=True, verbosity=0)\nfrom blog.models import *\n" + seed)
    done = subprocess.run([site_python(), "-c", setup], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return root
