"""The sandbox's own nginx: the front end of shape "package", serving /media/ and /static/ from disk.

Debian's nginx package (installed when missing, its own service kept off), run as
a master of our own: config, pid, logs and temp files under ``.sandbox/nginx/``,
listening on loopback only.  Its workers run as www-data, so what they serve must
be readable by "other": the shared media directory is 2775 with 0664 files (the
sites' FILE_UPLOAD_PERMISSIONS), the static roots 755 under ``.sandbox/www/``
(the hosts' homes are 700, so nothing it serves may live there).
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import SandboxError
from .layout import Layout
from .processes import apt_install, ensure_port_free, port_open, read_pid, run, stop_pid, wait_for

NGINX = Path("/usr/sbin/nginx")
MIME_TYPES = Path("/etc/nginx/mime.types")


@dataclass(frozen=True)
class FrontEnd:
    """One host's server block: nginx on ``port``, gunicorn behind it on ``backend_port``."""

    alias: str
    port: int
    backend_port: int
    media_root: Path
    static_root: Path


def ensure_installed() -> None:
    if not NGINX.exists():
        apt_install("nginx", f"{NGINX} is missing (shape \"package\" is served behind nginx)")


def worker_user() -> str:
    """Debian's www-data, as a packaged nginx runs its workers; nobody where it does not exist."""
    try:
        pwd.getpwnam("www-data")
        return "www-data"
    except KeyError:
        return "nobody"


def config_text(layout: Layout, front_ends: list[FrontEnd]) -> str:
    directory = layout.nginx_dir
    servers = "".join(_server_block(front_end) for front_end in front_ends)
    return f"""\
# The media-cutover sandbox's nginx (written by `invoke sandbox.up --shapes=package`):
# shape "package"'s front end on each host, loopback only. Not Debian's nginx service.
user {worker_user()};
worker_processes 1;
pid {layout.nginx_pidfile};
error_log {directory}/logs/error.log warn;

events {{
    worker_connections 512;
}}

http {{
    include {MIME_TYPES};
    default_type application/octet-stream;
    access_log {directory}/logs/access.log;
    sendfile on;
    server_tokens off;
{temp_paths(directory)}{servers}}}
"""


def temp_paths(directory: Path) -> str:
    """An nginx master's temp files in its own directory, not the package's /var/lib/nginx."""
    return "".join(f"    {kind}_temp_path {directory}/temp/{name};\n" for kind, name in (
        ("client_body", "client_body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"), ("uwsgi", "uwsgi"),
        ("scgi", "scgi")))


def _server_block(front_end: FrontEnd) -> str:
    return f"""
    # {front_end.alias}: shape "package", its gunicorn on 127.0.0.1:{front_end.backend_port}
    server {{
        listen 127.0.0.1:{front_end.port};
        server_name _;
        client_max_body_size 20m;  # uploads go through to /upload/

        # Media straight from the shared disk, as the recipe's nginx did: Django never sees them.
        location /media/ {{
            alias {front_end.media_root}/;
            add_header Cache-Control "max-age=86400, public";
        }}
        # collectstatic's output; ManifestStaticFilesStorage's hashed names may be cached long.
        location /static/ {{
            alias {front_end.static_root}/;
            add_header Cache-Control "max-age=2592000, public";
        }}
        location / {{
            proxy_pass http://127.0.0.1:{front_end.backend_port};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
"""


def _command(directory: Path, *extra: str) -> list[str]:
    return [str(NGINX), "-p", f"{directory}/", "-c", str(directory / "nginx.conf"),
            "-e", str(directory / "logs" / "error.log"), *extra]


def start(layout: Layout, front_ends: list[FrontEnd]) -> str:
    """Start our nginx, or reload it when its config changed; 'started', 'running' or 'running, reloaded'."""
    for front_end in front_ends:
        _check_readable(front_end.media_root)
        _check_readable(front_end.static_root)
    return start_master("the sandbox's nginx", layout.nginx_dir, layout.nginx_pidfile, config_text(layout, front_ends),
                        [front_end.port for front_end in front_ends])


def start_master(what: str, directory: Path, pidfile: Path, text: str, ports: list[int]) -> str:
    """An nginx master of ours with ``text`` as its config in ``directory``: started, or reloaded when its config
    changed; 'started', 'running' or 'running, reloaded with its new config'."""
    ensure_installed()
    for path, mode in ((directory, 0o755), (directory / "logs", 0o750), (directory / "temp", 0o755)):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
    config = directory / "nginx.conf"
    changed = not config.is_file() or config.read_text() != text
    config.write_text(text)
    run(_command(directory, "-t", "-q"))
    pid = read_pid(pidfile)
    if pid and not changed and all(port_open(port) for port in ports):
        return "running"
    if pid:
        os.kill(pid, signal.SIGHUP)  # re-reads the config, opens new listen sockets, replaces its workers
        state = "running, reloaded with its new config"
    else:
        for port in ports:
            ensure_port_free(port, what)
        run(_command(directory))
        state = "started"
    wait_for(what, lambda: all(port_open(port) for port in ports), 15, directory / "logs" / "error.log")
    return state


def _check_readable(path: Path) -> None:
    """nginx's workers (not root) must list and read what they serve: one clear line if they cannot."""
    user = worker_user()
    result = subprocess.run(["runuser", "-u", user, "--", "test", "-r", str(path), "-a", "-x", str(path)],
                            capture_output=True)
    if result.returncode != 0:
        raise SandboxError(f"nginx's workers ({user}) cannot read {path}: it and every parent need o+rx")


def stop(layout: Layout) -> None:
    stop_master(layout.nginx_pidfile)


def stop_master(pidfile: Path) -> None:
    stop_pid(read_pid(pidfile), timeout=10)


def running(pidfile: Path) -> bool:
    return read_pid(pidfile) is not None
