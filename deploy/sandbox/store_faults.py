"""Store faults in the sandbox: the fault proxy in front of SeaweedFS, and the environment that goes through it.

`invoke sandbox.up --faults=503:0.05,reset:0.03[,latency:0.01:200ms]` starts the proxy
(``deploy.sandbox.fault_proxy``) on its own fixed port (FAULT_PROXY_PORT, beside the store's 18333, which
stays where it is) and points at it everything a cutover's traffic comes from:

- the tool: ``config/sandbox-faults.env``, written here from config/sandbox.env with only
  AWS_S3_ENDPOINT_URL changed (the secrets file linked to sandbox.secrets.env, as the shapes' are), so the
  boto3 clients, the listing, the sync tool on the media host and every HTTP check go through the proxy;
- the default site: its site.env's AWS_S3_ENDPOINT_URL is the proxy's while faults are on, so the media
  URLs it renders on S3 (those the health check fetches) go through it too, and the cutover's storage
  probe finds the site's endpoint the same as the tool's (it refuses a site that talks to another).

Nothing else moves: the store keeps its port, config/sandbox.env its endpoint, and an independent check
(the tests', with the admin key) reads the store directly.  A plain `sandbox.up`, `--faults=off` or
`sandbox.down` stops the proxy and points the site back at the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from ..config.types import Settings
from .fault_proxy import Faults, parse_faults
from .layout import FAULT_PROXY_PORT, WEED_PORTS, Layout
from .processes import ensure_port_free, port_open, read_pid, stop_pid, wait_for

FAULTS_ENV = "sandbox-faults"
LIFETIME = 8 * 3600.0   # the proxy stops by itself after this: a sandbox left up does not keep it for ever
HEADER = """\
# Written by `invoke sandbox.up --faults=...` (deploy/sandbox/store_faults.py); do not edit: it is
# config/sandbox.env with AWS_S3_ENDPOINT_URL pointed at the fault proxy, which answers some requests
# with 503 SlowDown, resets some mid-response and delays some ({faults}). The default site goes
# through it too while faults are on. `invoke sandbox.up` (without --faults) turns them off.

"""


def proxy_url() -> str:
    return f"http://127.0.0.1:{FAULT_PROXY_PORT}"


def wanted(text: str | None) -> Faults | None:
    """The faults `--faults` asks for; None for none ("", "off"). A wrong rate stops here, before anything."""
    faults = parse_faults(text or "")
    return None if faults == Faults() else faults


def site_settings(settings: Settings, faults: Faults | None) -> Settings:
    """What the default site's site.env is written from: the store's endpoint, or the proxy's."""
    return replace(settings, endpoint_url=proxy_url()) if faults else settings


def start(layout: Layout, faults: Faults) -> str:
    """The proxy with these rates (one already running is replaced: the rates may differ)."""
    stop(layout)
    ensure_port_free(FAULT_PROXY_PORT, "the sandbox's fault proxy")
    log = layout.logs / "fault-proxy.log"
    command = [sys.executable, "-m", "deploy.sandbox.fault_proxy", "--port", str(FAULT_PROXY_PORT),
               "--upstream", f"127.0.0.1:{WEED_PORTS['s3.port']}", "--faults", faults.text(),
               "--lifetime", str(LIFETIME), "--log", str(injected_log(layout))]
    with open(log, "ab") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=layout.project_root,
                                   env={**os.environ, "PYTHONPATH": str(layout.project_root)})
    pidfile(layout).write_text(f"{process.pid}\n")
    wait_for("the fault proxy", lambda: port_open(FAULT_PROXY_PORT), 15, log)
    return f"{faults.text()} on 127.0.0.1:{FAULT_PROXY_PORT} (injected faults: {injected_log(layout)})"


def stop(layout: Layout) -> bool:
    """Stop the proxy; True when one ran."""
    pid = read_pid(pidfile(layout))
    stop_pid(pid, timeout=10)
    pidfile(layout).unlink(missing_ok=True)
    return pid is not None


def running(layout: Layout) -> bool:
    return read_pid(pidfile(layout)) is not None and port_open(FAULT_PROXY_PORT)


def write_env(project_root: Path, faults: Faults) -> Path:
    """config/sandbox-faults.env: config/sandbox.env through the proxy; its secrets linked to the sandbox's."""
    config = project_root / "config"
    lines = []
    for line in (config / "sandbox.env").read_text().splitlines():
        lines.append(f"AWS_S3_ENDPOINT_URL={proxy_url()}" if line.startswith("AWS_S3_ENDPOINT_URL=") else line)
    path = config / f"{FAULTS_ENV}.env"
    path.write_text(HEADER.format(faults=faults.text()) + "\n".join(lines) + "\n")
    secrets = config / f"{FAULTS_ENV}.secrets.env"
    if not secrets.is_symlink() and not secrets.exists():
        secrets.symlink_to("sandbox.secrets.env")
    return path


def pidfile(layout: Layout) -> Path:
    return layout.root / "fault-proxy.pid"


def injected_log(layout: Layout) -> Path:
    """A JSON line a fault the proxy injected (time, fault, method, path without its query)."""
    return layout.logs / "fault-proxy-faults.jsonl"
