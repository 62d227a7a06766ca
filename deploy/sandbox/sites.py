"""The Django site on each sandbox host: its venv, its files, its gunicorn."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import signal
import shutil
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from ..config.types import HostSettings, Settings
from ..site.edits.snippet import mirror_module
from . import seeded_content
from .accounts import as_user, owned_tree
from .layout import GROUP, SITE_PYTHON_PACKAGES, Layout
from .processes import ensure_port_free, port_open, read_pid, run, stop_pid, wait_for

TEMPLATE = Path(__file__).parent / "site"
SETTINGS_FILE = Path("mediasite") / "local_settings.py"  # the switch's file: the cutover's, never refreshed
# The site runs as the host's user: it needs a Python every user can execute
# (a pyenv Python under /root is not), so the system's.
SYSTEM_PYTHON = "/usr/bin/python3"


def ensure_site_venv(layout: Layout) -> None:
    """One venv with Django, django-storages, gunicorn, shared read-only by the hosts.

    A stamp in the venv names the packages installed: a venv made before the list
    grew (django-environ for shape "envfile") gets the new ones, once.
    """
    gunicorn = layout.site_venv / "bin" / "gunicorn"
    stamp = layout.site_venv / ".sandbox-packages"
    wanted = "\n".join(SITE_PYTHON_PACKAGES) + "\n"
    if gunicorn.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return
    if not gunicorn.exists():
        if subprocess.run([SYSTEM_PYTHON, "-c", "import ensurepip, venv"], capture_output=True).returncode:
            run(["apt-get", "install", "-y", "-qq", "python3-venv"],
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        run([SYSTEM_PYTHON, "-m", "venv", str(layout.site_venv)])
    run([str(layout.site_venv / "bin" / "pip"), "install", "-q", *SITE_PYTHON_PACKAGES], timeout=900)
    stamp.write_text(wanted)


def ensure_shared_dirs(layout: Layout) -> None:
    """Media and database both hosts use: group-writable, setgid so the group sticks."""
    for path in (layout.shared, layout.shared_media, layout.database.parent):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, "root", GROUP)
        path.chmod(0o2775)
    if layout.database.exists():
        layout.database.chmod(0o664)  # both hosts' sites write it


def install_site(layout: Layout, settings: Settings, host: HostSettings,
                 account: pwd.struct_passwd) -> bool:
    """Copy the site into the host's home, or bring its files up to the template (its local_settings.py,
    the operator's, is left as it is).

    Writes site.env afresh; True when it or a file changed (a running site must reload).
    """
    home = Path(account.pw_dir)
    _link(home / "site-venv", layout.site_venv)
    (home / "webapps").mkdir(exist_ok=True)
    _link(home / "webapps" / "media", layout.shared_media)
    for name in ("run", "logs", "webapps"):
        (home / name).mkdir(exist_ok=True)
    site = home / "site"
    changed = False
    if not site.exists():
        shutil.copytree(TEMPLATE, site, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        changed = _refresh(site)
    changed = _install_mirror_module(site) or changed
    env_file = site / "site.env"
    before = env_file.read_text() if env_file.exists() else None
    env_file.write_text(_site_env(layout, settings, host, env_file))
    env_file.chmod(0o600)
    owned_tree(home, account)
    return env_file.read_text() != before or changed


def _install_mirror_module(site: Path) -> bool:
    """media_mirror.py beside manage.py, as `invoke settings-snippet --part=mirror` prints it (the site's
    MEDIA_MIRROR block names it); True when it changed."""
    target, module = site / "media_mirror.py", mirror_module()
    if target.is_file() and target.read_text() == module:
        return False
    target.write_text(module)
    return True


def _refresh(site: Path) -> bool:
    """The template's files over an installed site, but its local_settings.py; True when one changed."""
    changed = False
    for source in sorted(TEMPLATE.rglob("*")):
        relative = source.relative_to(TEMPLATE)
        if not source.is_file() or "__pycache__" in relative.parts or relative == SETTINGS_FILE:
            continue
        target = site / relative
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        changed = True
    return changed


def restore_pristine_settings(account: pwd.struct_passwd) -> bool:
    """Put the template's local_settings.py back (USE_S3 = False); False if it was already so."""
    pristine = TEMPLATE / SETTINGS_FILE
    target = Path(account.pw_dir) / "site" / SETTINGS_FILE
    try:
        found = target.stat()
        if (target.read_bytes() == pristine.read_bytes() and (found.st_uid, found.st_gid) ==
                (account.pw_uid, account.pw_gid) and found.st_mode & 0o7777 == 0o644):
            return False
    except FileNotFoundError:
        pass
    shutil.copyfile(pristine, target)
    os.chown(target, account.pw_uid, account.pw_gid)
    target.chmod(0o644)
    return True


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)


def _site_env(layout: Layout, settings: Settings, host: HostSettings, env_file: Path) -> str:
    values = site_env_values(layout, settings, host.alias, site_port(host), env_file)
    header = "# The sandbox site's environment (written by `invoke sandbox.up`; mode 600).\n"
    return header + "".join(f"{key}={value}\n" for key, value in values.items())


def site_env_values(layout: Layout, settings: Settings, alias: str, port: int, env_file: Path) -> dict[str, str]:
    """What a sandbox site reads from its environment file; the file's DJANGO_SECRET_KEY is kept."""
    previous = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                    if "=" in line and not line.startswith("#")) if env_file.exists() else {}
    return {
        "DJANGO_SECRET_KEY": previous.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
        "SITE_HOST_NAME": alias,
        "SITE_PORT": str(port),
        "MEDIA_ROOT": str(layout.shared_media),
        "DATABASE_PATH": str(layout.database),
        "AWS_ACCESS_KEY_ID": settings.access_key_id,
        "AWS_SECRET_ACCESS_KEY": settings.secret_access_key.reveal(),
        "AWS_STORAGE_BUCKET_NAME": settings.bucket,
        "AWS_S3_ENDPOINT_URL": settings.endpoint_url or "",
        "AWS_S3_REGION_NAME": settings.region,
        "AWS_LOCATION": settings.media_prefix,
        "AWS_REQUEST_CHECKSUM_CALCULATION": settings.checksum_mode,
        "AWS_RESPONSE_CHECKSUM_VALIDATION": settings.checksum_mode,
        "CACHE_CONTROL": settings.cache_control or "",
    }


def site_port(host: HostSettings) -> int:
    return urlparse(host.site_url).port or 80


def manage(account: pwd.struct_passwd, arguments: str, timeout: float = 600) -> str:
    return as_user(account, f"~/site-venv/bin/python ~/site/manage.py {arguments}", timeout).stdout


def gunicorn_pid(account: pwd.struct_passwd) -> int | None:
    return read_pid(Path(account.pw_dir) / "run" / "gunicorn.pid")


def start_site(layout: Layout, host: HostSettings, account: pwd.struct_passwd) -> str:
    """Start the host's gunicorn unless it runs; returns 'started' or 'running'."""
    port = site_port(host)
    if gunicorn_pid(account) and port_open(port):
        return "running"
    ensure_port_free(port, f"the site of sandbox host {host.alias}")
    as_user(account, "cd ~/site && ~/site-venv/bin/gunicorn -c gunicorn.conf.py mediasite.wsgi:application")
    log = Path(account.pw_dir) / "logs" / "gunicorn-error.log"
    wait_for(f"the site on {host.alias}", lambda: health(host) is not None, 30, log)
    return "started"


def reload_site(layout: Layout, host: HostSettings, account: pwd.struct_passwd) -> None:
    """Graceful HUP when the site runs (quick; wait_for_storage tells when it is done), else a start."""
    pid = gunicorn_pid(account)
    if pid is None:
        start_site(layout, host, account)
        return
    os.kill(pid, signal.SIGHUP)


def stop_site(account: pwd.struct_passwd) -> None:
    stop_pid(gunicorn_pid(account), timeout=25)


def health(host: HostSettings) -> dict | None:
    """The site's /healthz answer, or None when it does not answer 200."""
    try:
        with urllib.request.urlopen(host.health_url, timeout=3) as response:
            return json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError):
        return None


def seed_media(account: pwd.struct_passwd, count: int, small: bool = False) -> str:
    """The media tree, first time only; ``small``: 1-4 KB files (a million fit in ~4 GB)."""
    return manage(account, f"seed_media --count {int(count)} --seed 7" + (" --small" if small else ""),
                  timeout=900 + count // 500).strip()


def seed_content(account: pwd.struct_passwd, rows: int, site_url: str) -> tuple[str, dict]:
    """The seeded articles exactly as planned (``deploy.sandbox.seeded_content``), over the seeded files: after
    ``seed_media``, and after any reseed of the tree (names change).  (line for people, what was seeded)."""
    said = manage(account, seeded_content.seed_command(rows, site_url), timeout=300 + rows // 500)
    return seeded_content.parse_seeded(said)
