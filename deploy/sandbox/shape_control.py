"""The extra site shapes at run time: bring them up, reload, reset, and say how they stand.

``up`` is idempotent like the rest of the sandbox: a running shape whose files
and environment are unchanged is left alone; one whose files changed is reloaded
the shape's own way (a HUP, or ``restart.sh`` for "envfile").  What tests and
scripts need to reach a shape goes into ``.sandbox/sandbox.json`` under "shapes".
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from ..config.load import load_settings
from ..config.types import Settings
from ..errors import SandboxError
from . import cdn, nginx, seeded_content
from .accounts import as_user
from .layout import CDN_PORT, GROUP, HOST_ALIASES, SHAPES, WRONG_ORIGIN_PORT, Layout
from .processes import ensure_port_free, port_open, read_pid, wait_for
from .shape_env import write_env_file
from .shapes import (SHAPES_BY_NAME, Shape, collect_static, install_files, one, restore_pristine_settings,
                     static_root)

Say = Callable[[str], None]


def up(layout: Layout, accounts: dict[str, pwd.struct_passwd], shapes: tuple[Shape, ...], say: Say) -> None:
    """Install, start (or reload) each shape on every host, then record it in sandbox.json."""
    state = layout.read_state() or {}
    recorded = state.setdefault("shapes", {})
    for shape in shapes:
        settings = shape_settings(layout, shape)
        changed = {}
        for alias, account in accounts.items():
            changed[alias] = install_files(layout, shape, alias, account, settings)
            changed[alias] = write_env_file(layout, settings, shape, alias, account) or changed[alias]
            if shape.front_end:
                collect_static(layout, shape, alias, account)
        if shape.own_data:
            say(f"data    shape {shape.name}: {ensure_data(layout, shape, accounts, settings.media_host)}")
        for alias, account in accounts.items():
            say(f"shape   {shape.name} on {alias} at {site_url(shape, alias)}: "
                f"{start_or_reload(layout, shape, alias, account, changed[alias])}")
        if shape.front_end:
            say(f"nginx   in front of shape {shape.name}: {nginx.start(layout, front_ends(layout, shape))}")
        if shape.cdn:
            wrong = load_settings("sandbox", layout.project_root).bucket
            say(f"cdn     stand-in CDN at 127.0.0.1:{CDN_PORT} (origin: bucket {settings.bucket}), and at "
                f"127.0.0.1:{WRONG_ORIGIN_PORT} with bucket {wrong} as its origin: "
                f"{cdn.start(layout, settings.endpoint_url or '', settings.bucket, wrong)}")
        recorded[shape.name] = shape_state(layout, shape, settings)
        layout.write_state(state)


def ensure_data(layout: Layout, shape: Shape, accounts: dict[str, pwd.struct_passwd], media_host: str) -> str:
    """A shape's own media directory and database (group-writable, as the default site's), linked at
    ~/webapps/<shape>-media on each host, and made by its commands on the media host (each a no-op
    once done); the last command's last line."""
    for path in (layout.shape_data(shape.name), layout.shape_media(shape.name), layout.shape_database(shape.name).parent):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, "root", GROUP)
        path.chmod(0o2775)
    for account in accounts.values():
        link = Path(account.pw_dir) / "webapps" / f"{shape.name}-media"
        if not link.is_symlink():
            link.parent.mkdir(exist_ok=True)
            link.symlink_to(layout.shape_media(shape.name))
    said = ""
    for command in shape.own_data:
        said = as_user(accounts[media_host], f"cd {shape.home_path()} && ~/site-venv/bin/python manage.py {command}",
                       timeout=300).stdout.strip()
    layout.shape_database(shape.name).chmod(0o664)  # SQLite makes it 0644: both hosts' sites write it
    lines = [line for line in said.splitlines() if not line.startswith(seeded_content.MARKER)]  # seed_content's JSON
    return lines[-1] if lines else "ready"


def accounts_of(layout: Layout) -> dict[str, pwd.struct_passwd]:
    return {alias: pwd.getpwnam(layout.account(alias)) for alias in HOST_ALIASES}


def clear_data(layout: Layout, shape: Shape) -> None:
    """The shape's media and database gone (its reset makes them again)."""
    shutil.rmtree(layout.shape_data(shape.name), ignore_errors=True)


def shape_settings(layout: Layout, shape: Shape) -> Settings:
    """config/sandbox-<shape>.env, checked against where the sandbox really serves the shape."""
    settings = load_settings(shape.env, layout.project_root)
    for host in settings.hosts:
        expected = {"SITE_URL": site_url(shape, host.alias), "SETTINGS_PATH": shape.home_path(shape.settings_file)}
        for key, found in (("SITE_URL", host.site_url), ("SETTINGS_PATH", host.settings_path)):
            if found != expected[key]:
                raise SandboxError(f"config/{shape.env}.env: {key} of {host.alias} is {found!r}, but the sandbox "
                                   f"installs shape {shape.name} at {expected[key]!r}")
    return settings


def site_url(shape: Shape, alias: str) -> str:
    return f"http://127.0.0.1:{shape.site_port(alias)}"


def backend_url(shape: Shape, alias: str) -> str:
    """The shape's gunicorn itself (for "package" the address nginx proxies to)."""
    return f"http://127.0.0.1:{shape.gunicorn_port(alias)}"


def pidfile(layout: Layout, shape: Shape, alias: str) -> Path:
    return layout.shape_dir(alias, shape.name) / "run" / "gunicorn.pid"


def front_ends(layout: Layout, shape: Shape) -> list[nginx.FrontEnd]:
    return [nginx.FrontEnd(alias=alias, port=shape.site_port(alias), backend_port=shape.gunicorn_port(alias),
                           media_root=layout.shared_media, static_root=static_root(layout, shape, alias))
            for alias in HOST_ALIASES]


def start_or_reload(layout: Layout, shape: Shape, alias: str, account: pwd.struct_passwd, changed: bool) -> str:
    """'started', 'running', or 'running, reloaded' when its files or environment changed."""
    if read_pid(pidfile(layout, shape, alias)) and port_open(shape.gunicorn_port(alias)):
        if not changed:
            return "running"
        reload(layout, shape, alias, account)
        return "running, " + ("restarted" if shape.restarts else "reloaded") + " with its new files"
    start(layout, shape, alias, account)
    return "started"


def start(layout: Layout, shape: Shape, alias: str, account: pwd.struct_passwd) -> None:
    ensure_port_free(shape.gunicorn_port(alias), f"site shape {shape.name} on sandbox host {alias}")
    if shape.restarts:
        as_user(account, shape.reload_command, timeout=60)
    else:
        as_user(account, f"cd {shape.home_path()} && ~/site-venv/bin/gunicorn -c gunicorn.conf.py {shape.wsgi}")
    log = layout.shape_dir(alias, shape.name) / "logs" / "gunicorn-error.log"
    wait_for(f"site shape {shape.name} on {alias}", lambda: answers(shape, alias), 30, log)


def reload(layout: Layout, shape: Shape, alias: str, account: pwd.struct_passwd) -> None:
    """The shape's own reload, as its RELOAD_COMMAND does it; a start when it does not run."""
    pid = read_pid(pidfile(layout, shape, alias))
    if pid is None:
        start(layout, shape, alias, account)
    elif shape.restarts:
        as_user(account, shape.reload_command, timeout=60)
        wait_for(f"site shape {shape.name} on {alias}", lambda: answers(shape, alias), 30)
    else:
        os.kill(pid, signal.SIGHUP)


def answers(shape: Shape, alias: str) -> bool:
    """The shape's gunicorn answers 200 on its health or page path."""
    return _get(backend_url(shape, alias) + (shape.health_path or shape.page_path))[0] == 200


def serves_from_disk(shape: Shape, alias: str, bucket_url: str) -> bool:
    """Back on disk: /healthz says so (storage and MEDIA_URL), or, without it, the page has no bucket URL."""
    status, body = _get(backend_url(shape, alias) + (shape.health_path or shape.page_path))
    if status != 200:
        return False
    if shape.health_path:
        health = json.loads(body)
        return health.get("storage") == "disk" and health.get("media_url") == shape.disk_media_url
    return bucket_url.encode() not in body


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (OSError, ValueError):
        return 0, b""


def reset(layout: Layout, name: str, say: Say) -> None:
    """Back to the shape's state after `up`: switch off in its pristine file, sites on disk, no lock.

    The bucket is not touched here: its prefix is shared with shape (a) (see sandbox.reset's empty_bucket).
    """
    shape = one(name)
    if name not in (layout.read_state() or {}).get("shapes", {}):
        raise SandboxError(f"site shape {name} is not installed: run `invoke sandbox.up --shapes={name}` first")
    settings = shape_settings(layout, shape)
    reloaded = []
    for alias in HOST_ALIASES:
        account = pwd.getpwnam(layout.account(alias))
        as_user(account, f"rm -rf ~/.media-cutover/locks/{shape.env}.lock")
        if shape.switch_in_env_file:
            changed = write_env_file(layout, settings, shape, alias, account, pristine=True)
        else:
            changed = restore_pristine_settings(layout, shape, alias, account, settings)
        if changed or shape.own_data or not serves_from_disk(shape, alias, settings.bucket_url):
            reloaded.append(alias)
    if shape.own_data:  # its data afresh (the workers reopen the new database after their reload)
        clear_data(layout, shape)
        as_user(pwd.getpwnam(layout.account(settings.media_host)), "rm -rf ~/.media-cutover/thumbnails")
        say(f"data    shape {shape.name}: {ensure_data(layout, shape, accounts_of(layout), settings.media_host)}")
    for alias in reloaded:
        reload(layout, shape, alias, pwd.getpwnam(layout.account(alias)))
    for alias in reloaded:
        wait_for(f"site shape {shape.name} on {alias} back on disk",
                 lambda: serves_from_disk(shape, alias, settings.bucket_url), 30)
    say(f"shape {name} reset: pristine {shape.settings_file}, sites on disk"
        + (f" (reloaded: {', '.join(reloaded)})" if reloaded else ""))


def shape_state(layout: Layout, shape: Shape, settings: Settings) -> dict:
    """sandbox.json's record of one shape: how tests and scripts reach it on each host."""
    hosts = {}
    for host in settings.hosts:
        alias, shape_dir = host.alias, layout.shape_dir(host.alias, shape.name)
        hosts[alias] = {
            "ssh_alias": alias,
            "user": layout.account(alias),
            "home": str(layout.home(alias)),
            "shape_dir": str(shape_dir),
            "site_url": host.site_url,
            "backend_url": backend_url(shape, alias),
            "health_url": site_url(shape, alias) + shape.health_path if shape.health_path else None,
            "page_url": site_url(shape, alias) + shape.page_path,
            "settings_path": str(shape_dir / shape.settings_file),
            "env_file": str(shape_dir / shape.env_file),
            "settings_module": shape.settings_module,
            "manage_py": str(shape_dir / "manage.py"),
            "manage_py_default_module": shape.manage_default_module,
            "pidfile": str(pidfile(layout, shape, alias)),
            "error_log": str(shape_dir / "logs" / "gunicorn-error.log"),
            "reload_command": shape.reload_command,
            "static_root": str(static_root(layout, shape, alias)) if shape.front_end else None,
            "media_root": str(layout.shape_media(shape.name) if shape.own_data else layout.shared_media),
            "database": str(layout.shape_database(shape.name) if shape.own_data else layout.database),
            "media_host": alias == settings.media_host,
        }
    recorded = {"env": shape.env, "config": f"config/{shape.env}.env", "about": shape.about, "hosts": hosts}
    if shape.front_end:
        recorded["nginx"] = {"pidfile": str(layout.nginx_pidfile), "config": str(layout.nginx_dir / "nginx.conf"),
                             "error_log": str(layout.nginx_dir / "logs" / "error.log"),
                             "media_alias": str(layout.shared_media)}
    return recorded


def status_rows(layout: Layout, state: dict) -> list[tuple[str, str]]:
    rows = []
    for name, recorded in state.get("shapes", {}).items():
        shape = SHAPES_BY_NAME.get(name)
        if shape is None:  # recorded by another version of the sandbox
            continue
        for alias, host in recorded["hosts"].items():
            pid = read_pid(Path(host["pidfile"]))
            answer = "answering" if pid and answers(shape, alias) else "not answering"
            rows.append((f"shape {name} {alias}", f"running (pid {pid}), {answer} at {host['site_url']}" if pid
                         else "stopped"))
        if recorded.get("nginx"):
            rows.append((f"nginx ({name})", "running" if nginx.running(layout.nginx_pidfile) else "stopped"))
        if shape.cdn:
            rows.append((f"stand-in CDN ({name})", "running" if cdn.is_running(layout) else "stopped"))
    return rows


def link_secrets(project_root: Path) -> list[str]:
    """config/sandbox-<shape>.secrets.env -> sandbox.secrets.env: every shape uses the sandbox's deploy key.

    A symlink, not a copy: one secret on disk (mode 600, git-ignored by config/*.secrets.env), and a key
    re-provisioned by a plain `sandbox.up` reaches every shape's environment at once.  A regular file
    there (someone provisioned that environment on its own) is left alone.  Returns the links made.
    """
    made = []
    config = project_root / "config"
    for name in SHAPES:
        link = config / f"sandbox-{name}.secrets.env"
        if SHAPES_BY_NAME[name].own_bucket:  # its own provisioned key (deploy_key.ensure_deploy_key), never a link
            if link.is_symlink():
                link.unlink()
            continue
        if link.is_symlink() and os.readlink(link) == "sandbox.secrets.env":
            continue
        if link.exists() and not link.is_symlink():
            continue
        link.unlink(missing_ok=True)
        link.symlink_to("sandbox.secrets.env")
        made.append(link.name)
    return made
