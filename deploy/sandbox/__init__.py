"""The local sandbox: real sshd, real S3 (SeaweedFS), a real Django site per host.

`up` is idempotent: what already runs is reused, what is missing is made.
"""

from __future__ import annotations

import os
import pwd
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Callable

from ..config.load import load, load_settings
from ..config.types import HostSettings, Secret, Settings
from ..errors import ConfigError, SandboxError
from ..site.ops.health import wait_for_storage
from ..store.client import s3_client
from . import accounts, cdn, nginx, seeded_content, s3store, shape_control, shapes, sites, sshd, store_faults
from .deploy_key import ensure_deploy_key
from .layout import HOST_ALIASES, SSH_PORT, WEED_PORTS, Layout, traversable_by_others
from .processes import port_open, read_pid

def ensure_admin_credentials(layout: Layout) -> None:
    """The store's admin keys (.sandbox/s3-admin.env), made once; the deploy key in
    config/sandbox.secrets.env is a provisioned one (deploy_key.ensure_deploy_key)."""
    admin = layout.admin_env
    old_umask = os.umask(0o077)
    try:
        if not admin.exists():
            admin.write_text(f"AWS_ACCESS_KEY_ID=SBXADMIN{secrets.token_hex(6).upper()}\n"
                             f"AWS_SECRET_ACCESS_KEY={secrets.token_urlsafe(30)}\n")
    finally:
        os.umask(old_umask)


def admin_settings(layout: Layout, settings: Settings) -> Settings:
    """``settings`` with the store's admin keys: for creating the bucket, its policy, users."""
    values = dict(line.split("=", 1) for line in layout.admin_env.read_text().split() if "=" in line)
    return replace(settings, access_key_id=values["AWS_ACCESS_KEY_ID"],
                   secret_access_key=Secret(values["AWS_SECRET_ACCESS_KEY"]))


def _preconditions(layout: Layout) -> None:
    if os.geteuid() != 0:
        raise SandboxError("the sandbox creates Unix accounts and runs sshd: run `invoke sandbox.up` as root")
    layout.ensure_root()
    if not traversable_by_others(layout.root):
        raise SandboxError(f"{layout.root} is not reachable by other users (a parent lacks o+x), and the "
                           "sandbox's host accounts must reach it: clone the project elsewhere, e.g. under /srv")


def up(project_root: Path, media_files: int, say: Callable[[str], None] = print, site_shapes: str = "",
       small_files: bool = False, faults: str = "", content_rows: int = seeded_content.DEFAULT_ROWS) -> Settings:
    """``site_shapes``: extra site shapes to bring up too ("package,envfile,recipe" or "all"; none by default).
    ``content_rows``: the seeded articles whose rich text and JSON hold media URLs (``deploy.sandbox.seeded_content``;
    made exactly so on every up, 100,000 in ~15 s).  ``faults``: the fault proxy's rates ("503:0.05,reset:0.03", ``deploy.sandbox.store_faults``); without
    them (or "off") no proxy runs and the default site talks to the store itself."""
    wanted_shapes = shapes.parse(site_shapes)  # a wrong name stops here, before anything changed
    try:
        wanted_faults = store_faults.wanted(faults)  # so does a wrong rate
    except ValueError as error:
        raise ConfigError(f"--faults={faults}: {error}") from None
    layout = Layout(project_root)
    _preconditions(layout)
    for path in (layout.root, layout.logs, layout.hosts_dir):
        path.mkdir(parents=True, exist_ok=True)
    ensure_admin_credentials(layout)
    layout.root.chmod(0o755)
    layout.logs.chmod(0o700)

    sshd.ensure_openssh_server()
    sshd.ensure_keys(layout)
    sshd.write_ssh_config(layout, HOST_ALIASES)
    admin = admin_settings(layout, load("sandbox", project_root, deploy_key_optional=True))

    say(f"s3      SeaweedFS on 127.0.0.1:{WEED_PORTS['s3.port']}: {s3store.start(layout, admin)}")
    s3store.ensure_public_media(admin)
    say(f"key     {ensure_deploy_key(project_root, admin)}")
    shape_control.link_secrets(project_root)
    for shape in wanted_shapes:
        if shape.own_bucket:  # its bucket, policy and key provisioned from config/sandbox-<shape>.env
            shape_admin = admin_settings(layout, load(shape.env, project_root, deploy_key_optional=True))
            say(f"key     shape {shape.name}: {ensure_deploy_key(project_root, shape_admin, shape.env)}")
    settings = load_settings("sandbox", project_root)
    if wanted_faults:
        say(f"faults  fault proxy {store_faults.start(layout, wanted_faults)}")
        say(f"faults  config/{store_faults.write_env(project_root, wanted_faults).name}: the sandbox through it; "
            "the default site's S3 endpoint too")
    elif store_faults.stop(layout):
        say("faults  off: the fault proxy stopped, the default site talks to the store itself")
    site_settings = store_faults.site_settings(settings, wanted_faults)

    accounts.ensure_group()
    host_accounts = {alias: accounts.ensure_account(layout, alias) for alias in HOST_ALIASES}
    for account in host_accounts.values():
        accounts.authorize_key(layout, account)
    say(f"ssh     sshd on 127.0.0.1:{SSH_PORT}: {sshd.start(layout)}")
    for alias in HOST_ALIASES:
        sshd.check_login(layout, alias)

    say("site    Python venv with Django, django-storages, gunicorn")
    sites.ensure_site_venv(layout)
    sites.ensure_shared_dirs(layout)
    new_environment = [alias for alias, account in host_accounts.items()
                       if sites.install_site(layout, site_settings, site_settings.host(alias), account)]
    media_account = host_accounts[settings.media_host]
    sites.manage(media_account, "migrate --noinput")
    # SQLite creates its file 0644 whatever the umask: both hosts' sites must write it.
    layout.database.chmod(0o664)
    say(f"media   {sites.seed_media(media_account, media_files, small_files)}")
    said, seeded = sites.seed_content(media_account, content_rows, settings.host(settings.media_host).site_url)
    say(f"content {said.removeprefix('content: ')}")
    for alias, account in host_accounts.items():
        host = settings.host(alias)
        state = sites.start_site(layout, host, account)
        if state == "running" and alias in new_environment:  # e.g. a new deploy key: the workers must see it
            sites.reload_site(layout, host, account)
            state = "running, reloaded with its new site.env"
        say(f"site    {alias} at {host.site_url}: {state}")

    layout.write_state(_state(layout, settings, wanted_faults, seeded))
    if wanted_shapes:
        shape_control.up(layout, host_accounts, wanted_shapes, say)
    return settings


def _state(layout: Layout, settings: Settings, faults=None, seeded: dict | None = None) -> dict:
    """What scripts and tests need to reach the sandbox: .sandbox/sandbox.json."""
    hosts = {}
    for host in settings.hosts:
        home = layout.home(host.alias)
        hosts[host.alias] = {
            "ssh_alias": host.alias,
            "user": layout.account(host.alias),
            "home": str(home),
            "site_url": host.site_url,
            "health_url": host.health_url,
            "settings_path": str(home / "site" / "mediasite" / "local_settings.py"),
            "media_root": str(layout.shared_media),
            "pidfile": str(home / "run" / "gunicorn.pid"),
            "media_host": host.alias == settings.media_host,
        }
    return {
        "ssh_config": str(layout.ssh_config),
        "hosts": hosts,
        "media_host": settings.media_host,
        "database": str(layout.database),
        "s3_admin_env": str(layout.admin_env),
        "s3": {"endpoint": settings.endpoint_url, "bucket": settings.bucket,
               "media_prefix": settings.media_prefix, "region": settings.region},
        # The extra site shapes an earlier `up --shapes=...` brought up stay recorded.
        "shapes": (layout.read_state() or {}).get("shapes", {}),
        # The seeded articles (deploy.sandbox.seeded_content): rows, files, site_url, media_url and the exact counts
        # of media URLs their body and data hold.
        "content": seeded,
        # The fault proxy, while `up --faults=...` has it on: the store stays at s3.endpoint.
        "faults": {"rates": faults.text(), "endpoint": store_faults.proxy_url(), "env": store_faults.FAULTS_ENV,
                   "injected_log": str(store_faults.injected_log(layout))} if faults else None,
    }


def down(project_root: Path, say: Callable[[str], None] = print) -> None:
    """Stop every sandbox process; files stay (delete .sandbox/ to start afresh)."""
    layout = Layout(project_root)
    if store_faults.stop(layout):
        say("faults  the fault proxy: stopped")
    nginx.stop(layout)
    say("nginx   the sandbox's nginx: stopped")
    cdn.stop(layout)
    say("cdn     the stand-in CDN: stopped")
    for alias in HOST_ALIASES:
        accounts.kill_processes(layout, alias)  # every site of the host, its extra shapes' too
        say(f"site    {alias}: stopped")
    sshd.stop(layout)
    say("ssh     sshd: stopped")
    s3store.stop(layout)
    say("s3      SeaweedFS: stopped")


def reset(project_root: Path, say: Callable[[str], None] = print, shape: str | None = None,
          empty_bucket: bool = False) -> None:
    """Back to the state after `up`: settings USE_S3 = False, sites reloaded, bucket prefix empty.

    For tests and rehearsals of the sandbox only; the media on disk stay.  With ``shape``, only
    that extra site shape is reset, and the bucket prefix (shared with shape (a)) is emptied only
    with ``empty_bucket``.
    """
    layout = Layout(project_root)
    settings = load_settings("sandbox", project_root)
    if shape is not None or empty_bucket:
        if shape is None:
            raise SandboxError("--empty-bucket goes with --shape=NAME (a reset of the default site always "
                               "empties the bucket prefix)")
        shape_control.reset(layout, shape, say)
        own = shapes.one(shape)
        if own.own_bucket:  # nobody else's objects: emptied on every reset of the shape
            own_settings = load_settings(own.env, project_root)
            _empty_media_prefix(layout, own_settings, default_site=False)
            say(f"bucket {own_settings.bucket}: prefix {own_settings.media_prefix}/ emptied (the shape's own bucket)")
        if empty_bucket:
            _empty_media_prefix(layout, settings)
            say(f"bucket prefix {settings.media_prefix}/ emptied (it is shape (a)'s too)")
        return
    reloaded = []
    for host in settings.hosts:
        account = pwd.getpwnam(layout.account(host.alias))
        accounts.as_user(account, f"rm -rf ~/.media-cutover/locks/{settings.env}.lock "
                                  "~/.media-cutover/mirror-failures.jsonl*")  # the mirror's records too
        # A site whose settings were pristine and that serves from disk is left running (most tests
        # change nothing); the others are reloaded at once, then waited for.
        if sites.restore_pristine_settings(account) or (sites.health(host) or {}).get("storage") != "disk":
            sites.reload_site(layout, host, account)
            reloaded.append(host)
    for host in reloaded:
        wait_for_storage(host, "disk", timeout=30)
    _empty_media_prefix(layout, settings)
    seeded = (layout.read_state() or {}).get("content")
    if seeded:  # a rewrite of the content's URLs is undone too
        said, _ = sites.seed_content(pwd.getpwnam(layout.account(settings.media_host)), seeded["rows"],
                                     seeded["site_url"])
        say(f"content {said.removeprefix('content: ')}")
    say("sandbox reset: sites on disk, bucket prefix empty, seeded content as planned")


def _empty_media_prefix(layout: Layout, settings: Settings, default_site: bool = True) -> None:
    """Delete every object under the media prefix (with the admin key), then re-check the public policy
    (the default site's bucket; a shape's own bucket keeps what provision gave it).

    The sandbox's store is SeaweedFS: its filer drops the prefix's directory in one request (a
    million objects in well under a second; S3 deletes go at ~1,600 objects/s, ten minutes a
    million).  Whatever that leaves is deleted through S3.
    """
    admin = admin_settings(layout, settings)
    client = s3_client(admin)
    s3store.drop_directory(settings.bucket, settings.media_prefix)
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.bucket, Prefix=settings.media_prefix + "/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=settings.bucket, Delete={"Objects": keys, "Quiet": True})
    if default_site:
        s3store.ensure_public_media(admin)


def status(project_root: Path) -> list[tuple[str, str]]:
    """(component, state) rows."""
    layout = Layout(project_root)
    rows = [("sshd", "running" if read_pid(layout.sshd_pidfile) and port_open(SSH_PORT) else "stopped"),
            ("seaweedfs", "running" if read_pid(layout.weed_pidfile) and port_open(WEED_PORTS["s3.port"])
             else "stopped")]
    state = layout.read_state() or {}
    if store_faults.running(layout):
        rows.append(("fault proxy", f"running: {(state.get('faults') or {}).get('rates', '?')} "
                                    f"at {store_faults.proxy_url()}"))
    for alias, host in state.get("hosts", {}).items():
        try:
            pid = sites.gunicorn_pid(pwd.getpwnam(host["user"]))
        except KeyError:
            pid = None
        answer = sites.health(_host_for(host)) if pid else None
        rows.append((f"site {alias}", f"running, storage={answer['storage']}" if answer
                     else ("not answering" if pid else "stopped")))
    return rows + shape_control.status_rows(layout, state)


def _host_for(state_host: dict) -> HostSettings:
    return HostSettings(alias=state_host["ssh_alias"], settings_path="", reload_command="",
                        site_url=state_host["site_url"], health_url=state_host["health_url"],
                        manage_py=None, site_python=None)
