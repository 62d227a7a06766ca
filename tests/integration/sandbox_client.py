"""How the integration tests reach the sandbox: only through what sandbox.json records."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def invoke(project_root: Path, *args: str, check: bool = True, timeout: float = 900,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `invoke ARGS` as an operator would, from the project root; ``env`` adds variables."""
    result = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=project_root,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"invoke {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def reset(project_root: Path) -> None:
    """What `invoke sandbox.reset` does, in this process (a test resets twice; a new process costs a second)."""
    from deploy.sandbox import reset as reset_sandbox
    reset_sandbox(project_root, say=lambda line: None)


def assert_provisioned_key_on_an_empty_prefix(sandbox: "Sandbox") -> None:
    """What a first production cutover starts from: provision's key (media/* only), nothing uploaded yet."""
    from deploy.store.client import s3_client

    settings = sandbox.settings()
    assert settings.access_key_id != sandbox.admin().access_key_id, "the sandbox runs on the admin key"
    listed = s3_client(settings).list_objects_v2(Bucket=settings.bucket, Prefix=settings.media_prefix + "/")
    assert not listed.get("Contents"), "the media prefix is not empty"


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def http_json(url: str) -> dict:
    status, body, _ = http_get(url)
    assert status == 200, f"GET {url} answered {status}: {body[:300]!r}"
    return json.loads(body)


def upload(site_url: str, filename: str, content: bytes, content_type: str = "image/jpeg",
           delay: float = 0) -> dict:
    """POST a multipart upload to the site's /upload/ (which waits ``delay`` seconds before storing it)."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{site_url}/upload/" + (f"?delay={delay:g}" if delay else ""),
                                     data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())


@contextlib.contextmanager
def uploads_through_both_sites(sandbox: "Sandbox", label: str, size_blocks: int = 50):
    """A steady uploader alternating web1 and web2 while the block runs; yields (stored, errors).

    ``stored`` holds the site's answer for every upload answered 201, ``errors``
    one line for every upload that failed.
    """
    stored, errors, stop = [], [], threading.Event()
    # Names of their own: a name the site's database already refers to (the sandbox keeps its
    # database between sessions) would make that old reference found again.
    label = f"{label} {uuid.uuid4().hex[:8]}"

    def uploader():
        number = 0
        while not stop.is_set():
            alias = ("web1", "web2")[number % 2]
            try:
                stored.append(upload(sandbox.host(alias)["site_url"], f"{label} {number}.jpg",
                                     b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * size_blocks))
            except OSError as error:
                errors.append(f"{alias}: {error}")
            number += 1
            time.sleep(0.05)

    thread = threading.Thread(target=uploader)
    thread.start()
    try:
        yield stored, errors
    finally:
        stop.set()
        thread.join()


RELOAD_STARTED = "run/reload-started"  # under the host's home: see upload_across_the_reload


def reload_after_a_slow_upload(sandbox: "Sandbox", alias: str) -> dict[str, str]:
    """Environment for a run whose reload of ``alias`` first lets upload_across_the_reload post its upload."""
    pidfile = sandbox.host(alias)["pidfile"]
    return {f"RELOAD_COMMAND__{alias.upper()}": f"touch ~/{RELOAD_STARTED} && sleep 1 && kill -HUP \"$(cat {pidfile})\""}


@contextlib.contextmanager
def upload_across_the_reload(sandbox: "Sandbox", alias: str, delay: float):
    """An upload an old worker takes in just before ``alias`` reloads, and stores ``delay`` s later.

    Needs the run's reload command from reload_after_a_slow_upload: it touches a
    file, then waits a second before the HUP; the upload goes out as soon as the
    file appears.  Yields a list that holds the site's answer afterwards.
    """
    marker = Path(sandbox.host(alias)["home"]) / RELOAD_STARTED
    marker.unlink(missing_ok=True)
    answers, stop = [], threading.Event()

    errors = []

    def post_when_the_reload_starts():
        while not marker.exists():
            if stop.wait(0.05):
                return
        try:
            answers.append(upload(sandbox.host(alias)["site_url"], f"across the reload {uuid.uuid4().hex[:8]}.jpg",
                                  b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 64, delay=delay))
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=post_when_the_reload_starts)
    thread.start()
    try:
        yield answers
    finally:
        stop.set()
        thread.join()
        marker.unlink(missing_ok=True)
    assert not errors, f"the upload across the reload of {alias} failed: {errors[0]}"
    assert answers, f"the reload of {alias} never started: no upload was made across it"


def shapes_up(project_root: Path, names: str, media_files: int) -> dict:
    """sandbox.json's shapes once NAMES (comma-separated) run: `invoke sandbox.up --shapes=NAMES`, unless each
    is recorded already and its page answers on every host (test_sandbox_shapes brings them all up first,
    and another `up` only costs seconds of checks)."""
    recorded = Sandbox.load(project_root).state.get("shapes", {})
    if all(name in recorded and all(_answers(host["page_url"]) for host in recorded[name]["hosts"].values())
           for name in names.split(",")):
        return recorded
    result = invoke(project_root, "sandbox.up", f"--media-files={media_files}", f"--shapes={names}")
    assert result.stdout.strip().splitlines()[-1].startswith("sandbox ready")
    return Sandbox.load(project_root).state["shapes"]


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=5)[0] == 200
    except OSError:  # refused: recorded in sandbox.json, but not running (a sandbox brought up since)
        return False


@dataclass
class Sandbox:
    project_root: Path
    state: dict

    @classmethod
    def load(cls, project_root: Path) -> "Sandbox":
        return cls(project_root, json.loads((project_root / ".sandbox" / "sandbox.json").read_text()))

    @property
    def ssh_config(self) -> str:
        return self.state["ssh_config"]

    def host(self, alias: str) -> dict:
        return self.state["hosts"][alias]

    @property
    def aliases(self) -> list[str]:
        return list(self.state["hosts"])

    def ssh(self, alias: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["ssh", "-F", self.ssh_config, alias, command],
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"ssh {alias} {command!r}: {result.returncode} {result.stderr}")
        return result

    def settings_bytes(self, alias: str) -> bytes:
        return Path(self.host(alias)["settings_path"]).read_bytes()

    def media_root(self) -> Path:
        return Path(self.host(self.state["media_host"])["media_root"])

    def settings(self):
        """The sandbox environment, with its provisioned deploy key (it may touch only media/*)."""
        from deploy.config.load import load_settings
        return load_settings("sandbox", self.project_root)

    def admin(self):
        """The sandbox environment with the store's admin key, for what the deploy key may not do."""
        from deploy.sandbox import admin_settings
        from deploy.sandbox.layout import Layout
        return admin_settings(Layout(self.project_root), self.settings())
