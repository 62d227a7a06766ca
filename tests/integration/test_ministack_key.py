"""The provisioned key against MiniStack: its scope, the probe, the listing, the sync tools.

With the key `invoke provision` makes (``media/*`` only), on AWS's semantics
(see test_ministack.py): the listing (``deploy.listing``) against boto3's on
keys with unicode, spaces, "+", "%2B", "&<>" and folder markers; the uploads
(rclone, s5cmd, s3cmd) and downloads (rclone, s5cmd) on an empty prefix and a
full one.  The sync tools run on the sandbox's web1, as its SSH user, in
``~/helper-ms-<hex>/`` (removed at the end), and reach MiniStack on 127.0.0.1
like the store of a real deployment.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.store import bucket_admin
from deploy.store.probe import anonymous_get, object_url, probe
from deploy.errors import PreflightError
from deploy.remote.ssh import connect
from deploy.store.listing import listing
from deploy.store.client import s3_client
from deploy.sync.install import install_sync_tool
from deploy.sync.on_host import download_media, upload_media

from .ministack_project import Project, checked_with_nothing_skipped, code_of, ministack_project

# Its own environment, bucket and IAM user on the MiniStack test_ministack.py uses too.
ENV, BUCKET = "mskey", "media-cutover-ministack-key"

pytestmark = pytest.mark.slow

TOOLS = ("rclone", "s5cmd", "s3cmd")
# Keys a real bucket holds: unicode, spaces, "+", a literal "%2B", XML's "&<>", and folder
# markers (keys ending in "/", as the S3 console's "Create folder" makes them).
ODD_KEYS = ["ñandú dir/sub/fïle ünï.png", "a b/photo one.jpg", "plus+sign.txt", "pct%2Bencoded.txt",
            "amp&lt<gt>.txt", "emoji 😀.jpg", "folder/", "folder/inside.txt", "empty folder/",
            "x/y/z/deep.txt", "x/y/"]
# The tree on web1: relative path -> content (the same odd names, as files).
TREE = {"ñandú dir/sub/fïle ünï.png": b"\x89PNG\r\n\x1a\n", "a b/photo one.jpg": b"\xff\xd8\xff\xe0 one",
        "plus+sign.txt": b"plus", "pct%2Bencoded.txt": b"percent-2B", "amp&lt<gt>.txt": b"<&>",
        "emoji 😀.jpg": b"\xff\xd8 smile", "x/y/z/deep.txt": b"deep\n", "empty.txt": b""}
MARKER = "folder marker/"     # put into the bucket beside the uploaded tree
MAKE_TREE = """import json, os, sys
root, tree = sys.argv[1], json.loads(bytes.fromhex(sys.argv[2]))
for path, content in tree.items():
    os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
    open(os.path.join(root, path), "wb").write(bytes.fromhex(content))
"""


@pytest.fixture(scope="module")
def project(sandbox, ministack_store, tmp_path_factory):
    """A fresh bucket and key, provisioned as a new AWS user would."""
    with ministack_project(sandbox, tmp_path_factory.mktemp("ministack-key"), ministack_store, ENV, BUCKET) as made:
        _, output = made.provision()
        assert checked_with_nothing_skipped(output), output
        yield made


def test_the_key_is_scoped_to_the_prefix_as_on_aws(project):
    client = s3_client(project.key_settings())
    # HEAD of the key "media" itself is outside media/*: 403, why rclone needs "media/" as its root.
    assert code_of(lambda: client.head_object(Bucket=BUCKET, Key="media")) == "403"
    assert code_of(lambda: client.head_object(Bucket=BUCKET, Key="media/missing.png")) == "404"
    assert code_of(lambda: client.list_objects_v2(Bucket=BUCKET, Prefix="media/")) == "ok"
    assert code_of(lambda: client.list_objects_v2(Bucket=BUCKET, Prefix="medias/")) == "AccessDenied"
    assert code_of(lambda: client.list_objects_v2(Bucket=BUCKET)) == "AccessDenied"
    assert code_of(lambda: client.put_bucket_policy(Bucket=BUCKET, Policy="{}")) == "AccessDenied"


def test_the_preflight_probe_passes_with_the_key_on_the_empty_prefix(project):
    probe(project.key_settings(), "media/.media-cutover-probe-ministack.txt", check_public=True)
    assert bucket_admin.keys_under(project.admin_s3(), BUCKET) == []


def test_the_listing_reads_odd_keys_and_folder_markers_as_boto3_does(project):
    settings = project.key_settings()
    client = s3_client(settings)
    assert list(listing(settings)) == []                              # the empty prefix
    for key in ODD_KEYS:
        client.put_object(Bucket=BUCKET, Key=f"media/{key}", Body=key.encode())
    try:
        paginated = [(item["Key"], item["Size"], item["ETag"])
                     for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="media/")
                     for item in page.get("Contents", [])]
        assert len(paginated) == len(ODD_KEYS)
        files = [entry for entry in paginated if not entry[0].endswith("/")]   # markers are no files
        assert [(entry.key, entry.size, entry.etag) for entry in listing(settings)] == files
    finally:
        bucket_admin.delete_keys(project.admin_s3(), BUCKET, [f"media/{key}" for key in ODD_KEYS])


# --- the sync tools on web1, with the provisioned key ----------------------------------------

@dataclass
class Web1:
    """web1's working dir for this module: the tools, the tree, the download targets."""

    name: str                      # helper-ms-<hex>, under the SSH user's home
    local: Path                    # the same, as seen from this machine
    project: Project

    def settings(self, tool: str, media_root: str = "tree", **changes):
        return dataclasses.replace(self.project.key_settings(), sync_tool=tool, sync_concurrency=4,
                                   tools_dir=f"~/{self.name}/tools", media_root=f"~/{self.name}/{media_root}",
                                   **changes)

    def bucket(self, prefix: str = "media") -> dict[str, int]:
        client = self.project.admin_s3()
        return {item["Key"][len(prefix) + 1:]: item["Size"]
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
                for item in page.get("Contents", [])}

    def empty_the_prefix(self) -> None:
        client = self.project.admin_s3()
        bucket_admin.delete_keys(client, BUCKET, bucket_admin.keys_under(client, BUCKET, "media/"))

    def files(self, media_root: str) -> dict[str, bytes]:
        root = self.local / media_root
        return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def web1(project, sandbox):
    name = f"helper-ms-{uuid.uuid4().hex[:8]}"
    local = Path(sandbox.host("web1")["home"]) / name
    # Written by web1's user (files it owns), in one SSH round trip.
    tree = json.dumps({path: content.hex() for path, content in TREE.items()}).encode().hex()
    sandbox.ssh("web1", f"python3 -c {shlex.quote(MAKE_TREE)} ~/{name}/tree {tree}")
    made = Web1(name, local, project)
    try:
        with connect(made.settings("rclone"), "web1") as connection:
            for tool in TOOLS:
                install_sync_tool(connection, made.settings(tool))
        yield made
    finally:
        sandbox.ssh("web1", f"rm -rf ~/{name}", check=False)


def download_dir(sandbox, web1: Web1, name: str) -> str:
    """A fresh, empty MEDIA_ROOT on web1 (mode 755: what s5cmd's fixed 0644 files need)."""
    sandbox.ssh("web1", f"mkdir -m 755 ~/{web1.name}/{name}")
    return name


def test_rclone_downloads_nothing_from_the_empty_prefix(web1, sandbox):
    target = download_dir(sandbox, web1, "from-empty-rclone")
    settings = web1.settings("rclone", target)
    with connect(settings, "web1") as connection:
        for overwrite in (False, True):
            result = download_media(connection, settings, overwrite=overwrite,
                                    displaced_dir=f"~/{web1.name}/displaced-empty-{overwrite}")
            assert result.files_transferred == 0
    assert web1.files(target) == {}


def test_s5cmd_downloads_nothing_from_the_empty_prefix(web1, sandbox):
    target = download_dir(sandbox, web1, "from-empty-s5cmd")
    settings = web1.settings("s5cmd", target)
    with connect(settings, "web1") as connection:
        result = download_media(connection, settings, overwrite=False,
                                displaced_dir=f"~/{web1.name}/displaced-empty-s5cmd")
    assert result.files_transferred == 0


@pytest.mark.parametrize("tool", TOOLS)
def test_upload_to_the_empty_then_the_full_prefix(web1, tool):
    web1.empty_the_prefix()
    settings = web1.settings(tool)
    with connect(settings, "web1") as connection:
        first = upload_media(connection, settings)
        assert web1.bucket() == {path: len(content) for path, content in TREE.items()}
        assert first.files_transferred == len(TREE)
        s3_client(settings).put_object(Bucket=BUCKET, Key=f"media/{MARKER}", Body=b"")
        again = upload_media(connection, settings)
        catch_up = upload_media(connection, settings, overwrite=False)
    assert again.files_transferred == 0 and catch_up.files_transferred == 0
    assert web1.bucket() == {**{path: len(content) for path, content in TREE.items()}, MARKER: 0}
    head = project_head(web1, "ñandú dir/sub/fïle ünï.png")
    assert (head["ContentType"], head["CacheControl"]) == ("image/png", settings.cache_control)
    status, body, headers = anonymous_get(object_url(settings, "media/a b/photo one.jpg"))
    assert (status, body, headers.get("Content-Type")) == (200, TREE["a b/photo one.jpg"], "image/jpeg")


def project_head(web1: Web1, path: str) -> dict:
    return web1.project.admin_s3().head_object(Bucket=BUCKET, Key=f"media/{path}")


def test_downloads_from_the_full_prefix_bring_every_file_and_no_folder_marker(web1, sandbox):
    assert MARKER in web1.bucket()                         # left by the upload tests
    rclone_dir = download_dir(sandbox, web1, "from-full-rclone")
    settings = web1.settings("rclone", rclone_dir)
    with connect(settings, "web1") as connection:
        first = download_media(connection, settings, overwrite=False, displaced_dir=f"~/{web1.name}/displaced-1")
        second = download_media(connection, settings, overwrite=True, displaced_dir=f"~/{web1.name}/displaced-2")
    assert (first.files_transferred, second.files_transferred) == (len(TREE), 0)
    assert web1.files(rclone_dir) == TREE

    s5cmd_dir = download_dir(sandbox, web1, "from-full-s5cmd")
    settings = web1.settings("s5cmd", s5cmd_dir)
    with connect(settings, "web1") as connection:
        result = download_media(connection, settings, overwrite=False, displaced_dir=f"~/{web1.name}/displaced-3")
    assert result.files_transferred == len(TREE)
    assert web1.files(s5cmd_dir) == TREE

    settings = web1.settings("s3cmd", "never-made")
    with connect(settings, "web1") as connection, pytest.raises(PreflightError, match="s3cmd cannot download"):
        download_media(connection, settings, overwrite=False, displaced_dir=f"~/{web1.name}/displaced-4")
