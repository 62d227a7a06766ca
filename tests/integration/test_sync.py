"""The sync tools for real: installed on web1 as its SSH user, uploading to SeaweedFS.

Each tool gets its own tree on web1 (``~/helper-tmp-<tool>/``), its own tools
dir there and its own throwaway prefix in the bucket; all are deleted at the end.
"""

from __future__ import annotations

import _thread
import dataclasses
import hashlib
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.config import Secret, Settings
from deploy.errors import RemoteError
from deploy.hosts import connect
from deploy.s3 import s3_client
from deploy.sync import InstallResult, install_sync_tool, upload_media

TOOLS = ["rclone", "s5cmd", "s3cmd"]
MANY_FILES = 1500

# relative path -> size; the .jpg is a symlink to a file outside the tree
TREE = {"a/photo one.jpg": 2004, "a/empty.txt": 0, "a/linked.jpg": 3000,
        "ñandú dir/sub/fïle ünï.png": 10, "b/c/d/deep.txt": 5}
MAKE_TREE = """set -e
R="$HOME/helper-tmp-{tool}"
rm -rf "$R"
mkdir -p "$R/tree/a" "$R/tree/ñandú dir/sub" "$R/tree/b/c/d" "$R/outside" "$R/many"
{{ printf '\\377\\330\\377\\340'; head -c 2000 /dev/urandom; }} > "$R/tree/a/photo one.jpg"
: > "$R/tree/a/empty.txt"
head -c 3000 /dev/urandom > "$R/outside/target.jpg"
ln -s ../../outside/target.jpg "$R/tree/a/linked.jpg"
head -c 10 /dev/urandom > "$R/tree/ñandú dir/sub/fïle ünï.png"
printf 'deep\\n' > "$R/tree/b/c/d/deep.txt"
if [ {loop} = yes ]; then ln -s .. "$R/tree/a/loop"; fi
python3 -c 'import os
for i in range({many}):
    d = os.path.join(os.environ["R"], "many", "d%02d" % (i % 20)); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "f%04d.jpg" % i), "wb").write(os.urandom(1024))'
"""


@dataclass
class Case:
    tool: str
    settings: Settings             # uploads ~/helper-tmp-<tool>/tree to <root>/tree
    root: str                      # the bucket prefix all of this case's objects live under
    remote_dir: Path               # ~/helper-tmp-<tool> as seen from this machine
    first_install: InstallResult
    exclude: tuple[str, ...]
    client: object = field(repr=False)

    def with_prefix(self, name: str, **changes) -> Settings:
        return dataclasses.replace(self.settings, media_prefix=f"{self.root}/{name}", **changes)

    def objects(self, prefix: str) -> dict[str, int]:
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.settings.bucket, Prefix=prefix + "/"):
            found.update({item["Key"][len(prefix) + 1:]: item["Size"] for item in page.get("Contents", [])})
        return found

    def run_dir_files(self) -> list[str]:
        run_dir = self.remote_dir / "tools" / "run"
        return sorted(os.listdir(run_dir)) if run_dir.exists() else []


@pytest.fixture(scope="module", params=TOOLS)
def case(request, sandbox) -> Case:
    tool = request.param
    base = sandbox.settings()
    root = f"test-sync-{tool}-{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(base, sync_tool=tool, media_root=f"~/helper-tmp-{tool}/tree",
                                   tools_dir=f"~/helper-tmp-{tool}/tools", media_prefix=f"{root}/tree")
    loop = tool != "s5cmd"      # s5cmd cannot skip a loop at all (see test_sync_commands)
    script = MAKE_TREE.format(tool=tool, loop="yes" if loop else "no", many=MANY_FILES)
    sandbox.ssh("web1", f"R=\"$HOME/helper-tmp-{tool}\"; export R; " + script)
    client = s3_client(base)
    try:
        with connect(settings, "web1") as connection:
            first = install_sync_tool(connection, settings)
        yield Case(tool, settings, root, Path(sandbox.host("web1")["home"]) / f"helper-tmp-{tool}",
                   first, ("a/loop",) if loop else (), client)
    finally:
        _delete_prefix(client, base.bucket, root)
        sandbox.ssh("web1", f'rm -rf "$HOME/helper-tmp-{tool}"', check=False)


def _delete_prefix(client, bucket: str, root: str) -> None:
    assert root.startswith("test-sync-")
    folders = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root + "/"):
        keys = [item["Key"] for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True})
        for key in keys:
            parts = key.split("/")[:-1]
            folders.update("/".join(parts[:depth]) + "/" for depth in range(1, len(parts) + 1))
    # SeaweedFS keeps emptied folders (listed as common prefixes); deleting "folder/" removes one.
    for folder in sorted(folders, key=len, reverse=True):
        client.delete_object(Bucket=bucket, Key=folder)


def test_install_is_idempotent(case):
    assert case.first_install.installed is True
    assert case.first_install.path.endswith(f"/tools/{case.tool}-{case.first_install.version}")
    with connect(case.settings, "web1") as connection:
        again = install_sync_tool(connection, case.settings)
    assert again.installed is False and again.path == case.first_install.path
    assert len(again.commands) == 1          # only the probe ran


def test_upload_copies_the_tree_follows_symlinks_sets_headers_and_never_deletes(case, sandbox):
    settings = case.settings
    keep = f"{settings.media_prefix}/keep/not-in-the-tree.txt"
    case.client.put_object(Bucket=settings.bucket, Key=keep, Body=b"stays")
    lines = []
    with connect(settings, "web1") as connection:
        first = upload_media(connection, settings, on_progress=lines.append, exclude=case.exclude,
                             manifest_totals=(len(TREE), sum(TREE.values())))
        second = upload_media(connection, settings, exclude=case.exclude)

    assert case.objects(settings.media_prefix) == {**TREE, "keep/not-in-the-tree.txt": 5}
    assert first.files_transferred == len(TREE) and first.bytes_transferred == sum(TREE.values())
    assert not second.files_transferred and not second.bytes_transferred
    assert lines and not any(settings.secret_access_key.reveal() in line for line in lines)

    def head(path):
        return case.client.head_object(Bucket=settings.bucket, Key=f"{settings.media_prefix}/{path}")
    for path, content_type in [("a/photo one.jpg", "image/jpeg"), ("a/linked.jpg", "image/jpeg"),
                               ("ñandú dir/sub/fïle ünï.png", "image/png")]:
        assert head(path)["ContentType"] == content_type
        assert head(path)["CacheControl"] == settings.cache_control
    target = sandbox.ssh("web1", f'md5sum "$HOME/helper-tmp-{case.tool}/outside/target.jpg"').stdout.split()[0]
    body = case.client.get_object(Bucket=settings.bucket, Key=f"{settings.media_prefix}/a/linked.jpg")["Body"]
    assert hashlib.md5(body.read()).hexdigest() == target
    assert case.run_dir_files() == []        # the credentials file is gone
    assert (case.remote_dir / "tools" / "run").stat().st_mode & 0o777 == 0o700


class ProcessWatcher(threading.Thread):
    """Samples every process's command line (and, as root, environment) while a sync runs."""

    def __init__(self, secret: str, marker: str, run_dir: Path):
        super().__init__(daemon=True)
        self.secret, self.marker, self.run_dir = secret, marker, run_dir
        self.stop = threading.Event()
        self.samples = self.seen_tool = 0
        self.leaks: list[str] = []
        self.modes: set[int] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            # -ww: without it ps cuts lines at $COLUMNS (80 under pytest) and would hide a secret
            listing = subprocess.run(["ps", "-ww", "-eo", "user,args"], capture_output=True, text=True).stdout
            self.samples += 1
            if self.secret in listing:
                self.leaks.append("ps -ww -eo user,args")
            if self.marker in listing:
                self.seen_tool += 1
                self._proc()
            for name in _listdir(self.run_dir):
                try:
                    status = (self.run_dir / name).stat()
                except FileNotFoundError:
                    continue
                if name.endswith(".conf") and status.st_size:   # empty, it is not chmod-ed yet
                    self.modes.add(status.st_mode & 0o777)
            time.sleep(0.01)

    def _proc(self) -> None:
        """Every command line in full, and the tool's environment when we may read it (root)."""
        secret = self.secret.encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if secret in cmdline:
                    self.leaks.append(f"command line of {cmdline[:80]!r}")
                if self.marker.encode() in cmdline and secret in Path(f"/proc/{pid}/environ").read_bytes():
                    self.leaks.append(f"environment of {cmdline[:80]!r}")
            except OSError:       # gone, or not ours to read
                pass


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def test_the_secret_never_shows_in_ps_while_the_tool_runs(case, sandbox):
    settings = case.with_prefix("ps", media_root=case.settings.media_root.replace("/tree", "/many"))
    secret = settings.secret_access_key.reveal()
    run_dir = case.remote_dir / "tools" / "run"
    watcher = ProcessWatcher(secret, f"{run_dir}/{case.tool}-", run_dir)
    watcher.start()
    try:
        with connect(settings, "web1") as connection:
            result = upload_media(connection, settings)
    finally:
        watcher.stop.set()
        watcher.join(10)
    assert result.files_transferred == MANY_FILES
    assert watcher.seen_tool >= 3, f"the tool ran too briefly to watch ({watcher.samples} samples)"
    assert watcher.leaks == []
    assert watcher.modes == {0o600}          # the credentials file, while it held them
    assert case.run_dir_files() == []


def test_a_failure_names_the_host_hides_the_secret_and_removes_the_file(case):
    wrong = Secret(f"wrong-{uuid.uuid4().hex}")
    settings = case.with_prefix("fail", secret_access_key=wrong)
    with connect(settings, "web1") as connection, pytest.raises(RemoteError) as error:
        upload_media(connection, settings, exclude=case.exclude)
    message = str(error.value)
    assert message.startswith(f"web1: {case.tool} upload to s3://{settings.bucket}/{settings.media_prefix}/ failed")
    assert wrong.reveal() not in message and case.settings.secret_access_key.reveal() not in message
    assert case.run_dir_files() == []
    assert case.objects(settings.media_prefix) == {}


def test_ctrl_c_stops_the_tool_on_the_host_and_removes_the_file(case):
    settings = case.with_prefix("interrupted", sync_concurrency=1,
                                media_root=case.settings.media_root.replace("/tree", "/many"))
    interrupted = []

    def on_progress(line):
        if not interrupted:
            interrupted.append(line)
            _thread.interrupt_main()          # as if the operator pressed Ctrl-C

    with connect(settings, "web1") as connection, pytest.raises(KeyboardInterrupt):
        upload_media(connection, settings, on_progress=on_progress)
    source = str(case.remote_dir / "many")
    deadline = time.monotonic() + 10
    while source in _process_list() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert source not in _process_list()
    assert case.run_dir_files() == []
    assert len(case.objects(settings.media_prefix)) < MANY_FILES


def _process_list() -> str:
    return subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
