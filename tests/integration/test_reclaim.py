"""`invoke reclaim` end to end on the sandbox: the proof, the removal of exactly the proven files, the site
served from the bucket, a second run that finds nothing, the rollback's room check on a small filesystem,
and the rollback that brings every file back byte-identical (checked by MD5 against the record)."""

import hashlib
import re
import json
import os
import stat
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from deploy.config.load import load
from deploy.engine.run import Options
from deploy.engine.runner import Step
from deploy.flows import reclaim as reclaim_flow
from deploy.store.client import s3_client

from .front_end import nginx_with, status
from .sandbox_client import assert_provisioned_key_on_an_empty_prefix, http_get, http_json, invoke, reset
from .test_cutover import bucket_objects
from .test_rollback import fab

pytestmark = pytest.mark.slow
MIRROR = {"CHANGEOVER": "mirror"}
# The seeded articles' old media URLs stay: here they are redirected by the nginx block (test_content_urls
# has reclaim refuse them, and rewrites them).
ACCEPT = "--accept-content-urls"


def md5s(root: Path) -> dict[str, str]:
    """relative path -> MD5 of every file reached through the tree (symlinked files followed)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            found[str(path.relative_to(root))] = hashlib.md5(path.read_bytes()).hexdigest()
    return found


def regular_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_symlink() or path.is_file()}


def empty_directories(root: Path) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_dir() and not path.is_symlink() and not any(path.iterdir())]


def records(project_root: Path, since: set[Path] = frozenset()) -> list[Path]:
    """The reclaim records under runs/ but those in ``since`` (what an earlier run left there)."""
    return sorted(set((project_root / "runs").glob("*-sandbox-reclaim.removed")) - set(since))


def read_record(path: Path) -> tuple[dict, dict[str, dict], dict[str, str]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    removed = {line["path"]: line for line in lines[1:] if "md5" in line}
    kept = {line["path"]: line["kept"] for line in lines[1:] if "kept" in line}
    return lines[0], removed, kept


def served_from_the_bucket(sandbox, removed: dict[str, dict]) -> int:
    """Every file the sites list that reclaim removed is served by every host from the bucket, its bytes
    the ones the record names (MD5); how many were fetched."""
    fetched = 0
    for alias in sandbox.aliases:
        for entry in http_json(sandbox.host(alias)["site_url"] + "/files/")["files"]:
            if entry["name"] not in removed:
                continue
            assert not entry["url"].startswith("/"), f"{alias} still renders {entry['url']} from disk"
            status, body, _ = http_get(entry["url"])
            assert status == 200, f"{alias}: {entry['url']} answered {status}"
            assert hashlib.md5(body).hexdigest() == removed[entry["name"]]["md5"], f"{alias}: {entry['url']}"
            fetched += 1
    return fetched


def assert_old_urls_redirect_to_the_bucket(sandbox, project_root: Path, removed: set[str], left: set[str]) -> None:
    """The old location behind nginx with the block `invoke settings-snippet --part=nginx` prints: each old URL
    the content holds answers 301 to the file's URL in the bucket, which answers 200; a file still on disk
    is served from it (200)."""
    from urllib.parse import unquote

    from .test_content_urls import articles

    root = sandbox.media_root()
    block = invoke(project_root, "settings-snippet", "--env=sandbox", "--part=nginx", f"--media-root={root}").stdout
    bucket = f"{sandbox.state['s3']['endpoint'].rstrip('/')}/{sandbox.state['s3']['bucket']}/media/"
    old = sorted({url for values in articles(sandbox).values() for value in values
                  for url in re.findall(r'"(/media/[^"]+)"', value)})
    assert len(old) >= 40
    with nginx_with(block, sandbox.host("web1")["site_url"]) as front_end:
        for url in old:
            name = unquote(url[len("/media/"):])
            answer, location = status(front_end + url)
            if name in removed:
                assert (answer, location) == (301, bucket + url[len("/media/"):]), f"{url}: {answer} {location}"
                assert http_get(location)[0] == 200, location
            else:
                assert name in left and answer == 200, f"{url}: {answer} {location}"
        kept = sorted(left)[0]
        assert status(front_end + "/media/" + quote(kept))[0] == 200


@pytest.fixture
def fresh(sandbox, project_root, tmp_path):
    """The sandbox reset, its media tree kept aside and put back afterwards: the tests after these find it
    whole whatever a reclaim here removed (the reset empties the bucket, it does not refill the disk)."""
    reset(project_root)
    assert_provisioned_key_on_an_empty_prefix(sandbox)
    root, kept = sandbox.media_root(), tmp_path / "media-before"
    subprocess.run(["cp", "-a", str(root), str(kept)], check=True)
    yield sandbox
    reset(project_root)
    subprocess.run(["find", str(root), "-mindepth", "1", "-delete"], check=True)
    subprocess.run(["cp", "-a", f"{kept}/.", str(root)], check=True)


def test_reclaim_proves_removes_exactly_the_proven_files_and_the_rollback_brings_them_back(fresh, project_root):
    sandbox, root = fresh, fresh.media_root()
    earlier = set(records(project_root))
    refused = invoke(project_root, "reclaim", "--env=sandbox", "--delete-local", check=False)
    assert refused.returncode == 1 and "USE_S3 is off: the site serves media from disk" in refused.stderr
    invoke(project_root, "cutover", "--env=sandbox")
    before = md5s(root)
    settings_before = {alias: sandbox.settings_bytes(alias) for alias in sandbox.aliases}
    home = invoke(project_root, "reclaim", "--env=sandbox", "--delete-local", ACCEPT, check=False, env={"MEDIA_ROOT": "~"})
    assert home.returncode == 1 and "refusing to remove anything there" in home.stderr, home.stdout + home.stderr
    assert md5s(root) == before

    # Without the flag, a report: the proof, and nothing changed.
    report = invoke(project_root, "reclaim", "--env=sandbox", ACCEPT)
    assert "proven in the bucket (same size and MD5)" in report.stdout
    assert "a report only: nothing removed" in report.stdout
    assert "the proof reads every byte of the tree once" in report.stdout
    assert md5s(root) == before and not records(project_root, earlier)

    # A bucket copy altered behind our back (same size, other bytes), and, once proven, a file changed on
    # disk and a new one written: all three stay, and are named.
    settings = sandbox.settings()
    altered, changed = sorted(path for path in before if not (root / path).is_symlink())[:2]
    key = f"{settings.media_prefix}/{altered}"
    client = s3_client(settings)
    client.put_object(Bucket=settings.bucket, Key=key, Body=b"\0" * (root / altered).stat().st_size)
    new_name = f"written after the proof {uuid.uuid4().hex[:6]}.jpg"

    def change_the_disk(run):
        with open(root / changed, "ab") as appended:
            appended.write(b"more")
        (root / new_name).write_bytes(b"new")
        return "changed one proven file, wrote one new"

    steps = list(reclaim_flow.RECLAIM)
    at = next(index for index, step in enumerate(steps) if step.name.startswith("remove the proven"))
    steps.insert(at, Step("test: the disk changes after the proof", change_the_disk))
    said = []
    reclaim_flow.run_reclaim(load("sandbox", project_root), Options(delete_local=True, accept_content_urls=True), said.append,
                             reclaim_flow.BEFORE_RECLAIM + steps)
    output = "\n".join(said)
    assert f"{altered}: its object in the bucket has other bytes (another MD5)" in output
    assert f"{changed} (changed on disk since the proof" in output

    [record] = records(project_root, earlier)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    head, removed, kept = read_record(record)
    assert set(removed) == set(before) - {altered, changed}
    assert head["removed"] == len(removed) and {altered, changed} <= set(kept)
    assert all(line["md5"] == before[path] for path, line in removed.items())
    left = regular_files(root)
    assert {altered, changed, new_name} <= left and not left & set(removed)
    assert empty_directories(root) == []
    assert served_from_the_bucket(sandbox, removed) == 2 * len(removed)  # every removed file, by both hosts
    assert {alias: sandbox.settings_bytes(alias) for alias in sandbox.aliases} == settings_before

    assert_old_urls_redirect_to_the_bucket(sandbox, project_root, set(removed), left)

    again = invoke(project_root, "reclaim", "--env=sandbox", "--delete-local", ACCEPT)
    assert "nothing to remove" in again.stdout and len(records(project_root, earlier)) == 1
    status = invoke(project_root, "status", "--env=sandbox")
    [disk] = [line for line in status.stdout.splitlines() if line.startswith("disk:")]
    assert "reclaimed at" in disk and f"{len(removed):,} files" in disk and record.name in disk

    # The way back checks its room first: on a filesystem too small for the download, refused, nothing changed.
    client.put_object(Bucket=settings.bucket, Key=key, Body=(root / altered).read_bytes())  # undo our tamper
    with small_filesystem(sandbox, root, size_kb=max(256, sum((root / p).stat().st_size for p in left) // 1024 + 64)):
        refused = fab(project_root, "rollback", "--env=sandbox", check=False)
        assert refused.returncode == 1, refused.stdout
        problem = [line for line in refused.stderr.splitlines() if "the download needs" in line]
        assert problem and "web1: " in problem[0] and "~/webapps/media" in problem[0] and "bytes free" in problem[0]
        assert all(http_json(sandbox.host(alias)["health_url"])["storage"] == "s3" for alias in sandbox.aliases)
        assert regular_files(root) == left
    fab(project_root, "rollback", "--env=sandbox")
    back = md5s(root)
    assert all(back[path] == line["md5"] for path, line in removed.items())


class small_filesystem:
    """A tmpfs of ``size_kb`` over the media directory, holding what it held (as the web1 account), unmounted
    on the way out with the directory's content as it was."""

    def __init__(self, sandbox, root: Path, size_kb: int):
        self.root, self.size_kb, self.keep = root, size_kb, root.parent / f".media-before-tmpfs-{uuid.uuid4().hex[:6]}"

    def __enter__(self):
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (CI runs as root)")
        owner = self.root.stat()
        subprocess.run(["cp", "-a", str(self.root), str(self.keep)], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_kb}k,uid={owner.st_uid},gid={owner.st_gid},"
                        f"mode={stat.S_IMODE(owner.st_mode):o}", "tmpfs", str(self.root)], check=True)
        subprocess.run(["cp", "-a", f"{self.keep}/.", str(self.root)], check=True)
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", str(self.root)], check=True)
        subprocess.run(["rm", "-rf", str(self.keep)], check=True)
        return False


def test_after_a_mirror_cutover_and_finalize_reclaim_empties_the_disk_and_the_rollback_refills_it(fresh, project_root):
    sandbox, root = fresh, fresh.media_root()
    earlier = set(records(project_root))
    invoke(project_root, "cutover", "--env=sandbox", env=MIRROR)
    soaking = invoke(project_root, "reclaim", "--env=sandbox", "--delete-local", check=False)
    assert soaking.returncode == 1
    assert "MEDIA_MIRROR is on" in soaking.stderr and "`invoke finalize --env=sandbox` first" in soaking.stderr
    invoke(project_root, "finalize", "--env=sandbox")
    before = md5s(root)
    invoke(project_root, "reclaim", "--env=sandbox", "--delete-local", ACCEPT)
    [record] = records(project_root, earlier)
    _, removed, kept = read_record(record)
    assert set(removed) == set(before) and not kept
    assert regular_files(root) == set() and empty_directories(root) == []
    assert len(bucket_objects(sandbox)) >= len(removed)
    assert served_from_the_bucket(sandbox, removed) == 2 * len(removed)
    fab(project_root, "rollback", "--env=sandbox")
    assert md5s(root) == before
