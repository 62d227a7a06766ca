"""The sync tools for real: installed on web1 as its SSH user, uploading to SeaweedFS and back.

Each tool gets its own tree on web1 (``~/helper-tmp-<tool>/``), its own tools
dir there and its own throwaway prefix in the bucket; all are deleted at the end.
The download tests work the same way in ``~/helper-dl-<hex>/`` and ``test-download-<hex>/``.
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

from deploy.config.types import Secret, Settings
from deploy.errors import PreflightError, RemoteError
from deploy.remote.ssh import connect
from deploy.store.probe import probe
from deploy.store.listing import listing
from deploy.store.client import s3_client
from deploy.sync.install import InstallResult, install_sync_tool
from deploy.sync.on_host import download_media, upload_media

from .scoped_keys import scoped_key, with_scoped_key

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
    client: object = field(repr=False)       # the store's admin key
    admin: Settings = field(repr=False)

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
    admin = sandbox.admin()
    root = f"test-sync-{tool}-{uuid.uuid4().hex[:8]}"
    loop = tool != "s5cmd"      # s5cmd cannot skip a loop at all (see test_sync_commands)
    script = MAKE_TREE.format(tool=tool, loop="yes" if loop else "no", many=MANY_FILES)
    sandbox.ssh("web1", f"R=\"$HOME/helper-tmp-{tool}\"; export R; " + script)
    client = s3_client(admin)   # the test's own look into the bucket
    try:
        # The tools run with what `invoke provision` would give a key for this root: <root>/* only.
        with scoped_key(admin, root) as key:
            settings = with_scoped_key(sandbox.settings(), key, sync_tool=tool,
                                       media_root=f"~/helper-tmp-{tool}/tree",
                                       tools_dir=f"~/helper-tmp-{tool}/tools", media_prefix=f"{root}/tree")
            with connect(settings, "web1") as connection:
                first = install_sync_tool(connection, settings)
            yield Case(tool, settings, root, Path(sandbox.host("web1")["home"]) / f"helper-tmp-{tool}",
                       first, ("a/loop",) if loop else (), client, admin)
    finally:
        _delete_prefix(client, admin.bucket, root)
        sandbox.ssh("web1", f'rm -rf "$HOME/helper-tmp-{tool}"', check=False)


def _delete_prefix(client, bucket: str, root: str) -> None:
    assert root.startswith(("test-sync-", "test-download-"))
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
    if case.tool == "rclone":   # the accounting the cutover's verify before the flip takes
        assert (first.files_checked, first.errors_reported) == (0, 0)
        assert (second.files_transferred, second.files_checked, second.errors_reported) == (0, len(TREE), 0)
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


def test_a_key_scoped_to_exactly_the_prefix_uploads_into_it_empty_then_full_and_back(case, sandbox):
    """The provisioned key's rights end at PREFIX/*: a HEAD of the key PREFIX itself answers 403.

    rclone given a root without its trailing slash HEADs that key first and, refused,
    took the root for a file ("is a file not a directory") on an empty prefix.
    """
    exact = f"{case.root}/exact"
    with scoped_key(case.admin, exact) as key:
        settings = with_scoped_key(case.settings, key, media_prefix=exact)
        with connect(settings, "web1") as connection:
            first = upload_media(connection, settings, exclude=case.exclude)             # empty prefix
            again = upload_media(connection, settings, exclude=case.exclude)             # full prefix
            missing = upload_media(connection, settings, exclude=case.exclude, overwrite=False)
        assert case.objects(exact) == TREE
        assert first.files_transferred == len(TREE)
        assert not again.files_transferred and not missing.files_transferred
        # The verify's listing and the preflight's probe, with the same key.
        assert sorted(entry.key for entry in listing(settings)) == sorted(f"{exact}/{path}" for path in TREE)
        probe(settings, f"{exact}/.media-cutover-probe-{uuid.uuid4().hex}", check_public=False)
        if case.tool == "s3cmd":
            return                             # it cannot download (see test_sync_commands)
        back = dataclasses.replace(settings, media_root=f"~/helper-tmp-{case.tool}/back")
        sandbox.ssh("web1", f'mkdir -m 755 "$HOME/helper-tmp-{case.tool}/back"')
        case_dir = case.remote_dir / "back"
        with connect(back, "web1") as connection:
            down = download_media(connection, back, overwrite=False,
                                  displaced_dir=f"~/helper-tmp-{case.tool}/displaced")
        assert down.files_transferred == len(TREE)
        assert {str(path.relative_to(case_dir)): path.stat().st_size
                for path in case_dir.rglob("*") if path.is_file()} == TREE


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


def test_upload_without_overwrite_never_replaces_an_object_the_site_wrote(case):
    settings = case.with_prefix("no-overwrite")
    newer = b"written by the site after the switch"           # another size than the file on disk
    case.client.put_object(Bucket=settings.bucket, Key=f"{settings.media_prefix}/a/photo one.jpg", Body=newer)
    with connect(settings, "web1") as connection:
        result = upload_media(connection, settings, exclude=case.exclude, overwrite=False)
    assert case.objects(settings.media_prefix) == {**TREE, "a/photo one.jpg": len(newer)}
    body = case.client.get_object(Bucket=settings.bucket, Key=f"{settings.media_prefix}/a/photo one.jpg")["Body"]
    assert body.read() == newer
    assert result.files_transferred == len(TREE) - 1
    assert case.run_dir_files() == []


# --- the download (rollback) -----------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 7 + b"\x00" * 4      # 2004 bytes
OBJECTS = {
    "a/photo one.jpg": JPEG,
    "a/empty.txt": b"",
    "a/linked.jpg": b"L" * 30,                       # on disk: a symlink to a 30-byte file
    "a/dangling.jpg": b"dangling",                   # on disk: a dangling symlink, excluded
    "b/c/d/deep.txt": b"deep\n",
    "same size.txt": b"SSSSSSS",                     # on disk: other bytes, same size
    "differs.txt": b"the bucket's version",          # on disk: "old"
    "ñandú dir/sub/fïle ünï.png": b"\x89PNG\r\n\x1a\n\x00\x00",
    "ñandú dir/sub/old ünï.txt": b"the bucket's nested version",   # on disk: "old one"
}
MISSING = ["a/photo one.jpg", "a/empty.txt", "b/c/d/deep.txt", "ñandú dir/sub/fïle ünï.png"]
DIFFERING = {"differs.txt": b"old", "ñandú dir/sub/old ünï.txt": b"old one"}
# The site's tree: MEDIA_ROOT is a symlink to a setgid dir (as in the sandbox); subdirs made under it.
MAKE_SITE_TREE = """set -e
D="$HOME/{name}"
mkdir -p "$D/outside"
mkdir "$D/site-media" && chmod {mode} "$D/site-media" && ln -s site-media "$D/media"
umask {umask}
mkdir -p "$D/site-media/a" "$D/site-media/b" "$D/site-media/ñandú dir/sub"
printf sssssss > "$D/site-media/same size.txt"
printf old > "$D/site-media/differs.txt"
printf 'old one' > "$D/site-media/ñandú dir/sub/old ünï.txt"
printf '%030d' 7 > "$D/outside/target.jpg"
ln -s ../../outside/target.jpg "$D/site-media/a/linked.jpg"
ln -s ../../outside/nothing.jpg "$D/site-media/a/dangling.jpg"
ln -s .. "$D/site-media/b/loop"
"""


@dataclass
class Downloads:
    """rclone and s5cmd installed in ~/helper-dl-<hex>/tools; one bucket prefix for all trees."""

    settings: Settings             # tools_dir and the prefix root set; media_root per tree
    name: str                      # helper-dl-<hex>: the dir in web1's home and the prefix's suffix
    local: Path                    # ~/helper-dl-<hex> as seen from this machine
    client: object = field(repr=False)
    trees: int = 0

    @property
    def prefix_root(self) -> str:
        return self.name.replace("helper-dl-", "test-download-")

    def tree(self, sandbox, tool: str, mode: str = "2775", umask: str = "002") -> "SiteTree":
        """A fresh site tree on web1 and a fresh prefix holding OBJECTS."""
        self.trees += 1
        name = f"{self.name}/t{self.trees}"
        sandbox.ssh("web1", MAKE_SITE_TREE.format(name=name, mode=mode, umask=umask))
        settings = dataclasses.replace(self.settings, sync_tool=tool, media_root=f"~/{name}/media",
                                       media_prefix=f"{self.prefix_root}/t{self.trees}")
        for key, body in OBJECTS.items():
            self.client.put_object(Bucket=settings.bucket, Key=f"{settings.media_prefix}/{key}", Body=body)
        return SiteTree(settings, self.local / f"t{self.trees}", f"~/{name}", self)


@dataclass
class SiteTree:
    settings: Settings
    local: Path                    # the tree's dir as seen from this machine
    remote: str                    # the same as ~/...
    downloads: Downloads

    @property
    def media(self) -> Path:
        return self.local / "site-media"

    def bucket(self) -> dict[str, tuple[int, str]]:
        client, prefix = self.downloads.client, self.settings.media_prefix + "/"
        return {item["Key"][len(prefix):]: (item["Size"], item["ETag"])
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket,
                                                                            Prefix=prefix)
                for item in page.get("Contents", [])}

    def run_dir_files(self) -> list[str]:
        return _listdir(self.downloads.local / "tools" / "run")

    def download(self, **kwargs):
        with connect(self.settings, "web1") as connection:
            return download_media(connection, self.settings, **kwargs)


@pytest.fixture(scope="module")
def downloads(sandbox) -> Downloads:
    admin = sandbox.admin()
    name = f"helper-dl-{uuid.uuid4().hex[:8]}"
    prefix_root = name.replace("helper-dl-", "test-download-")
    try:
        with scoped_key(admin, prefix_root) as key:
            settings = with_scoped_key(sandbox.settings(), key, tools_dir=f"~/{name}/tools", sync_concurrency=8)
            state = Downloads(settings, name, Path(sandbox.host("web1")["home"]) / name, s3_client(admin))
            with connect(settings, "web1") as connection:
                for tool in ("rclone", "s5cmd"):
                    install_sync_tool(connection, dataclasses.replace(settings, sync_tool=tool))
            yield state
    finally:
        _delete_prefix(s3_client(admin), admin.bucket, prefix_root)
        sandbox.ssh("web1", f'rm -rf "$HOME/{name}"', check=False)


def _mode(path: Path) -> int:
    return path.lstat().st_mode & 0o7777


def test_rclone_download_fetches_missing_files_then_replaces_differing_ones_keeping_the_old(downloads, sandbox):
    tree = downloads.tree(sandbox, "rclone")
    before = tree.bucket()
    displaced = f"{tree.remote}/displaced/run-1"
    lines = []

    first = tree.download(overwrite=False, displaced_dir=displaced, exclude=["a/dangling.jpg"],
                          on_progress=lines.append)
    assert (first.files_transferred, first.files_displaced, first.umask) == (len(MISSING), 0, "002")
    for path in MISSING:
        assert (tree.media / path).read_bytes() == OBJECTS[path]
    for path, old in DIFFERING.items():                    # only missing files arrive
        assert (tree.media / path).read_bytes() == old
    assert (tree.media / "same size.txt").read_bytes() == b"sssssss"
    assert (tree.media / "a/linked.jpg").is_symlink() and (tree.local / "outside/target.jpg").read_bytes() == \
        b"0" * 29 + b"7"
    assert (tree.media / "a/dangling.jpg").is_symlink() and not (tree.local / "outside/nothing.jpg").exists()
    assert not (tree.local / "displaced").exists()
    assert lines and not any(tree.settings.secret_access_key.reveal() in line for line in lines)

    # the site's modes: root 2775 -> files 664, new dirs 2775, all in the root's group
    root = tree.media.stat()
    assert root.st_mode & 0o7777 == 0o2775
    for path in MISSING:
        assert _mode(tree.media / path) == 0o664
        assert (tree.media / path).stat().st_gid == root.st_gid
    for directory in ["b/c", "b/c/d"]:
        assert _mode(tree.media / directory) == 0o2775
        assert (tree.media / directory).stat().st_gid == root.st_gid

    second = tree.download(overwrite=True, displaced_dir=displaced, exclude=["a/dangling.jpg"])
    assert (second.files_transferred, second.files_displaced) == (len(DIFFERING), len(DIFFERING))
    for path, old in DIFFERING.items():
        assert (tree.media / path).read_bytes() == OBJECTS[path]
        assert _mode(tree.media / path) == 0o664
        assert (tree.local / "displaced/run-1" / path).read_bytes() == old
    assert sorted(str(p.relative_to(tree.local / "displaced/run-1"))
                  for p in (tree.local / "displaced/run-1").rglob("*") if p.is_file()) == sorted(DIFFERING)
    assert (tree.media / "same size.txt").read_bytes() == b"sssssss"     # size-only: same size stays
    assert (tree.media / "a/linked.jpg").is_symlink() and (tree.media / "a/dangling.jpg").is_symlink()

    again = tree.download(overwrite=True, displaced_dir=f"{tree.remote}/displaced/run-2",
                          exclude=["a/dangling.jpg"])
    assert (again.files_transferred, again.bytes_transferred, again.files_displaced) == (0, 0, 0)
    assert not (tree.local / "displaced/run-2").exists()
    assert tree.download(overwrite=False, displaced_dir=displaced, exclude=["a/dangling.jpg"]).files_transferred == 0

    assert tree.bucket() == before                          # nothing deleted or changed in the bucket
    assert tree.run_dir_files() == []                       # the credentials file is gone
    assert not [p for p in tree.media.rglob("*.partial")]


def test_rclone_download_refuses_a_displaced_dir_inside_the_tree_or_already_used(downloads, sandbox):
    tree = downloads.tree(sandbox, "rclone")
    for inside in [f"{tree.remote}/media/old", f"{tree.remote}/site-media/.displaced", tree.remote]:
        with pytest.raises(PreflightError, match=r"^web1: the displaced directory .* overlaps MEDIA_ROOT"):
            tree.download(overwrite=True, displaced_dir=inside, exclude=["a/dangling.jpg"])
    sandbox.ssh("web1", f'mkdir -p "$HOME/{tree.remote[2:]}/used" && touch "$HOME/{tree.remote[2:]}/used/x"')
    with pytest.raises(PreflightError, match="already holds something"):
        tree.download(overwrite=True, displaced_dir=f"{tree.remote}/used", exclude=["a/dangling.jpg"])
    assert (tree.media / "differs.txt").read_bytes() == b"old"
    assert not (tree.media / "a/photo one.jpg").exists()
    assert tree.run_dir_files() == []


def test_rclone_download_without_the_dangling_symlink_excluded_fails_naming_the_host(downloads, sandbox):
    tree = downloads.tree(sandbox, "rclone")
    with pytest.raises(RemoteError, match=r"^web1: rclone download from s3://.* failed \(exit 6\).*dangling"):
        tree.download(overwrite=False, displaced_dir=f"{tree.remote}/displaced")
    # ... after downloading the same-named object over the link: why callers pass the manifest's links
    assert (tree.media / "a/dangling.jpg").read_bytes() == OBJECTS["a/dangling.jpg"]
    assert (tree.media / "differs.txt").read_bytes() == b"old"
    assert tree.run_dir_files() == []


def test_s5cmd_downloads_missing_files_into_a_755_tree_and_refuses_a_group_writable_one(downloads, sandbox):
    tree = downloads.tree(sandbox, "s5cmd", mode="755", umask="022")
    sandbox.ssh("web1", f'rm "$HOME/{tree.remote[2:]}/site-media/a/dangling.jpg"')   # s5cmd takes no excludes
    result = tree.download(overwrite=False, displaced_dir=f"{tree.remote}/displaced")
    assert (result.files_transferred, result.umask) == (len(MISSING) + 1, "022")    # + a/dangling.jpg
    for path in MISSING:
        assert (tree.media / path).read_bytes() == OBJECTS[path] and _mode(tree.media / path) == 0o644
    assert _mode(tree.media / "b/c/d") == 0o755
    for path, old in DIFFERING.items():
        assert (tree.media / path).read_bytes() == old
    assert (tree.media / "a/linked.jpg").is_symlink()
    assert tree.download(overwrite=False, displaced_dir=f"{tree.remote}/displaced").files_transferred == 0

    shared = downloads.tree(sandbox, "s5cmd")
    with pytest.raises(PreflightError, match=r"s5cmd cannot give .*umask 002"):
        shared.download(overwrite=False, displaced_dir=f"{shared.remote}/displaced")
    with pytest.raises(PreflightError, match="s5cmd cannot replace files"):
        shared.download(overwrite=True, displaced_dir=f"{shared.remote}/displaced")
    assert not (shared.media / "a/photo one.jpg").exists()
    assert sorted(tree.bucket()) == sorted(OBJECTS)
    assert tree.run_dir_files() == []
