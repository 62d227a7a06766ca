"""A tiny real Django site with easy_thumbnails and sorl-thumbnail, for test_thumbnails_script.py.

Its venv (Django 5.2, django-storages, Pillow, easy-thumbnails 2.10.1, sorl-thumbnail 13.4.0) is
built once under ``.pytest-venvs/`` (git-ignored) and reused.  The site runs against one state
directory (``media/``, ``bucket/``, ``db.sqlite3``), in one of two modes:

- ``disk``: the default storage is a FileSystemStorage on ``media/``; easy_thumbnails' alias is an
  ``easy_thumbnails.storage.ThumbnailFileSystemStorage`` there (another storage_hash than the
  default's, as many sites have it).
- ``bucket``: the default storage is ``testsite.bucket.BucketStorage`` on ``bucket/``: files on disk,
  but no ``path()``, so easy_thumbnails trusts only its rows, as with S3; every call is logged
  (HEAD/GET/PUT/DELETE) to ``ops.log``.  easy_thumbnails' alias follows the default (the settings
  snippet's block), unless ``THUMBS_EASY_ALIAS=thumbfs`` keeps the disk one (the mismatch).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.config.types import HostSettings

PACKAGES = ("Django>=5.2,<5.3", "django-storages[s3]==1.14.6", "Pillow", "easy-thumbnails==2.10.1",
            "sorl-thumbnail==13.4.0")
TABLES = ("easy_thumbnails_source", "easy_thumbnails_thumbnail", "easy_thumbnails_thumbnaildimensions",
          "thumbnail_kvstore")
IMAGES = 10

SETTINGS = '''
import os
ROOT = os.environ["THUMBS_ROOT"]
SECRET_KEY = "test"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "easy_thumbnails", "sorl.thumbnail"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(ROOT, "db.sqlite3")}}
THUMBNAIL_ALIASES = {"": {"small": {"size": (40, 40), "crop": True}, "large": {"size": (120, 90)},
                          "medium": {"size": (80, 60)}}}
THUMBNAIL_CACHE_DIMENSIONS = True
if os.environ.get("THUMBS_STORE", "disk") == "disk":
    MEDIA_ROOT, MEDIA_URL = os.path.join(ROOT, "media"), "/media/"
    DEFAULT = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    MEDIA_ROOT, MEDIA_URL = os.path.join(ROOT, "media"), "http://bucket.test/media/"
    DEFAULT = {"BACKEND": "testsite.bucket.BucketStorage",
               "OPTIONS": {"location": os.path.join(ROOT, "bucket"), "base_url": MEDIA_URL}}
STORAGES = {"default": DEFAULT,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            "easy_thumbnails": {"BACKEND": "easy_thumbnails.storage.ThumbnailFileSystemStorage"}}
if os.environ.get("THUMBS_STORE", "disk") != "disk" and os.environ.get("THUMBS_EASY_ALIAS") != "thumbfs":
    STORAGES["easy_thumbnails"] = STORAGES["default"]
if os.environ.get("THUMBS_BREAK_CHECK"):
    CACHES = {}  # caches.E001: an error of `manage.py check` only, the site still imports
'''

BUCKET = '''
import os
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.deconstruct import deconstructible


@deconstructible
class BucketStorage(Storage):
    """Files in a directory, served as a bucket would be: no path(), each call logged as its S3 request."""

    bucket_name = "bucket-like"

    def __init__(self, location, base_url):
        self.location, self._files = location, FileSystemStorage(location, base_url)

    def _log(self, request, name):
        with open(os.path.join(os.environ["THUMBS_ROOT"], "ops.log"), "a") as log:
            log.write("%s %s\\n" % (request, name))

    def _open(self, name, mode="rb"):
        self._log("GET", name)
        return self._files._open(name, mode)

    def _save(self, name, content):
        self._log("PUT", name)
        return self._files._save(name, content)

    def exists(self, name):
        self._log("HEAD", name)
        return self._files.exists(name)

    def size(self, name):
        self._log("HEAD", name)
        return self._files.size(name)

    def get_modified_time(self, name):
        self._log("HEAD", name)
        return self._files.get_modified_time(name)

    def delete(self, name):
        self._log("DELETE", name)
        self._files.delete(name)

    def listdir(self, path):
        return self._files.listdir(path)

    def url(self, name):
        return self._files.url(name)
'''

MANAGE = '''
import os, sys
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
'''

# Renders thumbnails as the site's templates would: a new thumbnailer per tag (each one moves its
# Source.modified on save, as the {% thumbnail %} tag does); prints what was created.
RENDER = '''
import json, os, sys
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

command, names = sys.argv[1], sys.argv[2:]
made = []
if command == "seed":
    from PIL import Image
    import io
    for number, name in enumerate(names):
        data = io.BytesIO()
        Image.new("RGB", (200 + number, 150), (20 * number % 256, 90, 160)).save(data, "JPEG")
        made.append(default_storage.save(name, ContentFile(data.getvalue())))
elif command == "easy":
    from easy_thumbnails.files import get_thumbnailer
    from easy_thumbnails.signals import thumbnail_created
    thumbnail_created.connect(lambda sender, **kwargs: made.append(sender.name), weak=False)
    for name in names:
        for alias in os.environ.get("THUMBS_ALIASES", "small,large").split(","):
            get_thumbnailer(name)[alias].url
elif command == "sorl":
    from sorl.thumbnail import get_thumbnail
    for name in names:
        for geometry in ("64x64", "100x80"):
            made.append(get_thumbnail(name, geometry, crop="center").name)
print("RENDERED " + json.dumps(made))
'''


def venv(project_root: Path) -> Path:
    """The site's venv, built once (under a lock, stamped when complete) and reused."""
    digest = hashlib.sha256("\n".join(PACKAGES).encode()).hexdigest()[:10]
    home = project_root / ".pytest-venvs"
    home.mkdir(exist_ok=True)
    path = home / f"thumbnails-{digest}"
    with open(home / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / ".complete").exists():
            shutil.rmtree(path, ignore_errors=True)
            if not _on_sandbox_site_venv(project_root, path):
                subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
                install = subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES],
                                         capture_output=True, text=True, timeout=600)
                assert install.returncode == 0, install.stdout + install.stderr
            (path / ".complete").write_text("\n".join(PACKAGES) + "\n")
    return path


def _on_sandbox_site_venv(project_root: Path, path: Path) -> bool:
    """A venv without pip that sees the sandbox sites' packages (Django 5.2, django-storages 1.14.6, boto3)
    and gets only the thumbnail libraries of its own: seconds, where a venv of its own took ~15 s of the suite.
    False when there is no such sandbox venv."""
    site_python = project_root / ".sandbox" / "site-venv" / "bin" / "python"
    probe = subprocess.run([str(site_python), "-c", "import django, storages, boto3, sys; "
                            "print(django.VERSION[:2] == (5, 2) and storages.__version__ == '1.14.6'); "
                            "print([p for p in sys.path if p.endswith('site-packages')][-1])"],
                           capture_output=True, text=True, timeout=60) if site_python.exists() else None
    if probe is None or probe.returncode != 0 or probe.stdout.split()[0] != "True":
        return False
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    own = next((path / "lib").glob("python3*/site-packages"))
    (own / "sandbox-site-venv.pth").write_text(probe.stdout.split()[1] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(own),
                              *[package for package in PACKAGES if not package.startswith(("Django", "django-"))]],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    return True


@dataclass
class Site:
    """The site's code (``site/``) and one state directory it runs against."""

    code: Path
    python: Path
    state: Path

    @property
    def host(self) -> HostSettings:
        return HostSettings(alias="web1", settings_path=str(self.code / "testsite" / "settings.py"),
                            reload_command="true", site_url="http://127.0.0.1:1", health_url=None,
                            manage_py=str(self.code / "manage.py"), site_python=str(self.python),
                            settings_module="testsite.settings")

    def environment(self, store: str, **extra: str) -> dict:
        return {**os.environ, "THUMBS_ROOT": str(self.state), "THUMBS_STORE": store, **extra}

    def shell(self, command: str, store: str = "disk", **extra: str) -> subprocess.CompletedProcess:
        """A command line of deploy.site.facts.thumbnails, run as the SSH adapter would run it on the host."""
        return subprocess.run(["bash", "-c", command], env=self.environment(store, **extra), capture_output=True,
                              text=True, timeout=120)

    def render(self, command: str, names: list[str], store: str = "disk", **extra: str) -> list[str]:
        result = subprocess.run([str(self.python), str(self.code / "render.py"), command, *names],
                                cwd=self.code, env=self.environment(store, DJANGO_SETTINGS_MODULE="testsite.settings",
                                                                    **extra),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        (line,) = [line for line in result.stdout.splitlines() if line.startswith("RENDERED ")]
        return json.loads(line[len("RENDERED "):])

    def sources(self) -> list[str]:
        """The seeded images' names, as the storage saved them."""
        return json.loads((self.state / "sources.json").read_text())

    def copy_to_bucket(self) -> None:
        """What the cutover's upload does: the whole media tree, sources and thumbnails, into the bucket."""
        shutil.copytree(self.state / "media", self.state / "bucket", dirs_exist_ok=True)

    def copy_from_bucket(self) -> None:
        """What the rollback's download does: every object onto the disk."""
        shutil.copytree(self.state / "bucket", self.state / "media", dirs_exist_ok=True)

    def operations(self) -> list[str]:
        log = self.state / "ops.log"
        return log.read_text().splitlines() if log.exists() else []

    def dump(self) -> dict:
        """Every row of the thumbnail tables, as the database holds them (text, not the ORM's values)."""
        with sqlite3.connect(self.state / "db.sqlite3") as database:
            return {table: database.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}

    def sql(self, statement: str) -> None:
        with sqlite3.connect(self.state / "db.sqlite3") as database:
            database.execute(statement)


def build(project_root: Path, where: Path) -> Site:
    """The site's code and a seeded state: IMAGES images, their easy_thumbnails and sorl thumbnails made on disk."""
    python = venv(project_root) / "bin" / "python"
    code = where / "site"
    (code / "testsite").mkdir(parents=True)
    (code / "testsite" / "__init__.py").write_text("")
    (code / "testsite" / "settings.py").write_text(SETTINGS)
    (code / "testsite" / "bucket.py").write_text(BUCKET)
    (code / "manage.py").write_text(MANAGE)
    (code / "render.py").write_text(RENDER)
    site = Site(code, python, where / "seeded")
    (site.state / "media").mkdir(parents=True)
    (site.state / "bucket").mkdir()
    migrate = subprocess.run([str(python), "manage.py", "migrate", "-v", "0"], cwd=code,
                             env=site.environment("disk"), capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    names = [f"photos/picture {number}.jpg" for number in range(IMAGES - 1)] + ["photos/café.jpg"]
    (site.state / "sources.json").write_text(json.dumps(site.render("seed", names)))
    assert len(site.render("easy", site.sources())) == 2 * IMAGES
    assert len(site.render("sorl", site.sources())) == 2 * IMAGES
    return site


def copy(site: Site, where: Path) -> Site:
    """The same site against a copy of its state."""
    shutil.copytree(site.state, where, symlinks=True)
    return Site(site.code, site.python, where)
