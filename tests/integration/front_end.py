"""A front end as a site's own would be: the sandbox's nginx binary, a server block of the old media location
as `invoke settings-snippet --part=nginx` prints it, every other path passed to the site's gunicorn."""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from deploy.sandbox.nginx import MIME_TYPES, NGINX, ensure_installed, worker_user

PORT = 18199  # loopback; no sandbox service uses it


@contextlib.contextmanager
def nginx_with(block: str, backend_url: str):
    """nginx on 127.0.0.1:PORT with ``block`` in its server { } and the rest proxied to ``backend_url``; its
    base URL, the server stopped on the way out."""
    ensure_installed()
    with tempfile.TemporaryDirectory(prefix="mc-front-end-") as directory:
        prefix = Path(directory)
        prefix.chmod(0o755)
        (prefix / "logs").mkdir()
        (prefix / "temp").mkdir()
        (prefix / "nginx.conf").write_text(f"""\
user {worker_user()};
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    include {MIME_TYPES};
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    server {{
        listen 127.0.0.1:{PORT};
{block}
        location / {{
            proxy_pass {backend_url.rstrip('/')};
        }}
    }}
}}
""")
        command = [str(NGINX), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "logs" / "error.log")]
        subprocess.run([*command, "-t", "-q"], check=True, capture_output=True)
        subprocess.run(command, check=True)
        try:
            for _ in range(100):
                with contextlib.suppress(OSError):
                    status(f"http://127.0.0.1:{PORT}/healthz")
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{PORT}"
        finally:
            subprocess.run([*command, "-s", "quit"], check=False, capture_output=True)
            for _ in range(100):
                if not (prefix / "nginx.pid").exists():
                    break
                time.sleep(0.05)


def status(url: str) -> tuple[int, str | None]:
    """(status, Location) of a GET, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        connection.close()
