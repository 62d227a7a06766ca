"""The sandbox's extra site shapes: what each is made of, and its files on a host.

Shape (a) is the site in ``site/`` (``sites.py``), at ``~/site``.  The others live
beside it in ``~/shapes/<shape>/`` on every host: the files of
``shape_templates/<shape>/`` laid over the parts of ``site/`` each one reuses (the
``gallery`` app at least: all shapes share shape (a)'s SQLite database and media
directory, so its models and migrations must stay the same), an environment
file the sandbox writes (mode 600: it holds the deploy key) and a gunicorn of
their own.  Each is configured by ``config/sandbox-<shape>.env``.  Its environment
file is ``shape_env.py``'s; starting, reloading and resetting them is
``shape_control.py``'s.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..config.types import Settings
from ..errors import SandboxError
from .accounts import as_user, owned_tree
from . import pasted_settings, seeded_content
from .layout import FRONT_END_PORTS, SHAPE_GUNICORN_PORTS, SHAPES, Layout
from .sites import TEMPLATE

SHAPE_TEMPLATES = Path(__file__).parent / "shape_templates"
STATICMEDIA_FILES = 200   # shape "staticmedia"'s own tree: 198 files its 24 seeded articles name (120 of them)


@dataclass(frozen=True)
class Shape:
    name: str
    about: str
    reused: tuple[tuple[str, str], ...]  # (path in site/, path in the shape), copied before its own files
    wsgi: str
    settings_file: str  # where the USE_S3 switch lives, relative to the shape's directory
    env_file: str  # the environment file the sandbox writes, relative to it
    restarts: bool  # its reload is a full restart (restart.sh), not a HUP
    health_path: str | None
    page_path: str  # a page that renders media URLs
    settings_module: str  # the module the running site uses
    manage_default_module: str  # the module manage.py falls back to
    front_end: bool = False  # behind the sandbox's nginx, which serves /media/ and /static/ from disk
    # a media directory and database of its own (Layout.shape_data), made by these manage.py commands
    # on the media host when the shape's data is new (shape_control.ensure_data)
    own_data: tuple[str, ...] = ()
    site_env: tuple[tuple[str, str], ...] = ()  # more values of its environment file
    # a bucket and deploy key of its own, provisioned from its config (config/sandbox-<shape>.secrets.env a
    # file of its own, not a link to the sandbox's key); its settings file is the site's part with the block
    # `invoke settings-snippet` prints for its config pasted below it (deploy/sandbox/pasted_settings.py)
    own_bucket: bool = False
    cdn: bool = False  # served through the stand-in CDN (deploy/sandbox/cdn.py): its MEDIA_CUSTOM_DOMAIN

    @property
    def env(self) -> str:
        """The environment that configures the tool for this shape: config/<env>.env."""
        return f"sandbox-{self.name}"

    @property
    def disk_media_url(self) -> str:
        """Its MEDIA_URL on disk: /media/, or its SITE_MEDIA_URL."""
        return dict(self.site_env).get("SITE_MEDIA_URL", "/media/")

    @property
    def switch_in_env_file(self) -> bool:
        return self.settings_file == self.env_file

    def home_path(self, relative: str = "") -> str:
        """A path in the shape's directory as the config writes it (~/ is the host user's home)."""
        return f"~/shapes/{self.name}" + (f"/{relative}" if relative else "")

    @property
    def reload_command(self) -> str:
        if self.restarts:
            return self.home_path("restart.sh")
        return f'kill -HUP "$(cat {self.home_path("run/gunicorn.pid")})"'

    def gunicorn_port(self, alias: str) -> int:
        return SHAPE_GUNICORN_PORTS[self.name][alias]

    def site_port(self, alias: str) -> int:
        return FRONT_END_PORTS[alias] if self.front_end else self.gunicorn_port(alias)


PACKAGE = Shape(
    name="package", about="settings package, ManifestStaticFilesStorage, HTML only, behind nginx",
    reused=(("gallery", "gallery"), ("mediasite/envfile.py", "shopsite/envfile.py")),
    wsgi="shopsite.wsgi:application", settings_file="shopsite/settings/local.py", env_file="site.env",
    restarts=False, health_path=None, page_path="/gallery/",
    settings_module="shopsite.settings.production", manage_default_module="shopsite.settings.dev",
    front_end=True)
ENVFILE = Shape(
    name="envfile", about="django-environ reading .env (USE_S3=false), preloaded: reload is a restart",
    reused=(("gallery", "gallery"),),
    wsgi="envsite.wsgi:application", settings_file=".env", env_file=".env",
    restarts=True, health_path="/healthz", page_path="/files/?limit=50",
    settings_module="envsite.settings", manage_default_module="envsite.settings")
RECIPE = Shape(
    name="recipe", about="the recipe-era DEFAULT_FILE_STORAGE block, ignored by Django 5.2",
    reused=(("gallery", "gallery"), ("mediasite", "mediasite"), ("manage.py", "manage.py")),
    wsgi="mediasite.wsgi:application", settings_file="mediasite/local_settings.py", env_file="site.env",
    restarts=False, health_path="/healthz", page_path="/files/?limit=50",
    settings_module="mediasite.settings", manage_default_module="mediasite.settings")
THUMBS = Shape(
    name="thumbs", about="easy_thumbnails and sorl-thumbnail pages of seeded photos; its own media and database",
    reused=(("gallery", "gallery"), ("mediasite", "mediasite"),
            ("../shape_templates/recipe/gunicorn.conf.py", "gunicorn.conf.py")),  # run/ and logs/ in the shape
    wsgi="thumbsite.wsgi:application", settings_file="mediasite/local_settings.py", env_file="site.env",
    restarts=False, health_path="/healthz", page_path="/easy/",
    settings_module="thumbsite.settings", manage_default_module="thumbsite.settings",
    own_data=("migrate --noinput -v 0", "seed_thumbs"))
STATICMEDIA_MEDIA_URL = "/static/media/"
STATICMEDIA = Shape(
    name="staticmedia", about="shape (a)'s site with MEDIA_URL /static/media/ on disk (the recipe era's default), "
                              "content holding such URLs; its own media and database",
    reused=(("gallery", "gallery"), ("mediasite", "mediasite"), ("manage.py", "manage.py"),
            ("../shape_templates/recipe/gunicorn.conf.py", "gunicorn.conf.py")),  # run/ and logs/ in the shape
    wsgi="mediasite.wsgi:application", settings_file="mediasite/local_settings.py", env_file="site.env",
    restarts=False, health_path="/healthz", page_path="/files/?limit=50",
    settings_module="mediasite.settings", manage_default_module="mediasite.settings",
    own_data=("migrate --noinput -v 0", f"seed_media --count {STATICMEDIA_FILES} --seed 7",
              seeded_content.seed_command(seeded_content.DEFAULT_ROWS, "http://127.0.0.1:18151", STATICMEDIA_MEDIA_URL)),
    site_env=(("SITE_MEDIA_URL", STATICMEDIA_MEDIA_URL),))
OWN_BUCKET_FILES = 120   # shapes "private" and "cdn": their own tree, small (each has a bucket of its own)
_PASTED_SITE = (("gallery", "gallery"), ("mediasite", "mediasite"), ("manage.py", "manage.py"),
                ("../shape_templates/recipe/gunicorn.conf.py", "gunicorn.conf.py"))  # run/ and logs/ in the shape


def _pasted(name: str, about: str, seed: int, cdn: bool = False) -> Shape:
    """Shape (a)'s site with the printed block pasted into its settings, a bucket, media and database of its own."""
    return Shape(name=name, about=about, reused=_PASTED_SITE, wsgi="mediasite.wsgi:application",
                 settings_file="mediasite/local_settings.py", env_file="site.env", restarts=False,
                 health_path="/healthz", page_path="/files/?limit=50", settings_module="mediasite.settings",
                 manage_default_module="mediasite.settings",
                 own_data=("migrate --noinput -v 0", f"seed_media --count {OWN_BUCKET_FILES} --seed {seed}"),
                 own_bucket=True, cdn=cdn)


PRIVATE = _pasted("private", "shape (a)'s site with the printed block for private media (signed URLs) pasted in; "
                             "its own bucket (no public read), media and database", seed=11)
CDN = _pasted("cdn", "shape (a)'s site with the printed block for a custom domain pasted in, served through a "
                     "stand-in CDN (nginx with a cache); its own bucket, media and database", seed=13, cdn=True)
SHAPES_BY_NAME = {shape.name: shape for shape in (PACKAGE, ENVFILE, RECIPE, THUMBS, STATICMEDIA, PRIVATE, CDN)}
assert tuple(SHAPES_BY_NAME) == SHAPES
assert STATICMEDIA.gunicorn_port("web1") == 18151  # its seeded content's absolute URLs name web1's site


def parse(names: str | None) -> tuple[Shape, ...]:
    """``"package,envfile"`` or ``"all"`` (empty: none) as shapes; an unknown name is one clear error."""
    wanted = [name.strip() for name in (names or "").split(",") if name.strip()]
    if wanted == ["all"]:
        return tuple(SHAPES_BY_NAME.values())
    unknown = [name for name in wanted if name not in SHAPES_BY_NAME]
    if unknown:
        raise SandboxError(f"unknown site shape {unknown[0]!r}: expected {', '.join(SHAPES)} "
                           "(comma-separated) or all")
    return tuple(SHAPES_BY_NAME[name] for name in dict.fromkeys(wanted))


def one(name: str) -> Shape:
    if name not in SHAPES_BY_NAME:
        raise SandboxError(f"unknown site shape {name!r}: expected one of {', '.join(SHAPES)} "
                           "(shape (a), the default site, resets with `invoke sandbox.reset` alone)")
    return SHAPES_BY_NAME[name]


def template_files(shape: Shape) -> dict[str, Path]:
    """Each file of the shape, by its path in the shape's directory: reused parts first, its own over them."""
    files: dict[str, Path] = {}
    for source, target in shape.reused:
        files.update(_tree(TEMPLATE / source, target))
    files.update(_tree(SHAPE_TEMPLATES / shape.name, ""))
    return files


def _tree(source: Path, target: str) -> dict[str, Path]:
    if source.is_file():
        return {target: source}
    return {str(Path(target) / path.relative_to(source)): path for path in sorted(source.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def pristine_settings(shape: Shape, settings: Settings) -> bytes:
    """The shape's settings file as `up` first writes it: the template's, or the site's part with the printed
    block pasted below it (shapes with a bucket of their own)."""
    if shape.own_bucket:
        return pasted_settings.text(settings).encode("utf-8")
    return template_files(shape)[shape.settings_file].read_bytes()  # the shape's own, or the part of site/ it reuses


def install_files(layout: Layout, shape: Shape, alias: str, account: pwd.struct_passwd, settings: Settings) -> bool:
    """Bring ~/shapes/<shape>/ up to the templates; True when a file changed (a running site must reload).

    The settings file with the switch is the operator's: written only when missing
    (``shape_control.reset`` puts it back).  Files the templates lack (backups, run/, logs/) stay.
    """
    shape_dir = layout.shape_dir(alias, shape.name)
    changed = False
    for relative, source in template_files(shape).items():
        target = shape_dir / relative
        if relative == shape.settings_file:
            if not target.exists():
                put_file(target, pristine_settings(shape, settings), account, 0o644)
                changed = True
            continue
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o755 if _executable(source) else 0o644)
        changed = True
    owned_tree(shape_dir.parent, account)
    return changed


def _executable(source: Path) -> bool:
    # By name too: an installed package need not keep the templates' exec bits.
    return source.suffix == ".sh" or source.name == "manage.py" or bool(source.stat().st_mode & 0o100)


def restore_pristine_settings(layout: Layout, shape: Shape, alias: str, account: pwd.struct_passwd,
                              settings: Settings) -> bool:
    """The pristine settings file back (USE_S3 = False), owned and 644; False if it was already so."""
    target = layout.shape_dir(alias, shape.name) / shape.settings_file
    return put_file(target, pristine_settings(shape, settings), account, 0o644)


def put_file(target: Path, content: bytes, account: pwd.struct_passwd, mode: int) -> bool:
    """Write ``content`` to ``target`` (atomically, with owner and mode) unless it is so; True if written."""
    try:
        found = target.stat()
        if (target.read_bytes() == content and (found.st_uid, found.st_gid) == (account.pw_uid, account.pw_gid)
                and found.st_mode & 0o7777 == mode):
            return False
    except FileNotFoundError:
        pass
    temporary = target.with_name(f".{target.name}.sandbox.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.chown(temporary, account.pw_uid, account.pw_gid)
    temporary.chmod(mode)
    os.replace(temporary, target)
    return True


def static_root(layout: Layout, shape: Shape, alias: str) -> Path:
    return layout.web_root(alias) / shape.name / "static"


def collect_static(layout: Layout, shape: Shape, alias: str, account: pwd.struct_passwd) -> None:
    """collectstatic under the running settings, as the host's user (ManifestStaticFilesStorage needs it)."""
    root = static_root(layout, shape, alias)
    root.mkdir(parents=True, exist_ok=True)
    layout.web_root(alias).parent.chmod(0o755)
    for path in (layout.web_root(alias), root.parent, root):
        path.chmod(0o755)  # nginx's workers read it as "other"
    owned_tree(layout.web_root(alias), account)
    as_user(account, f"cd {shape.home_path()} && DJANGO_SETTINGS_MODULE={shape.settings_module} "
                     "~/site-venv/bin/python manage.py collectstatic --noinput -v 0", timeout=300)
