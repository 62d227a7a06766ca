"""Shape "thumbs": easy_thumbnails and sorl-thumbnail through the cutover, the rollback and a second cutover.

The shape's pages (/easy/, /sorl/) render thumbnails of 12 seeded photos whose thumbnails were made on
disk before (seed_thumbs), as a site that ran a while has them.  After each change-over the pages are
viewed on both hosts, and what that made is counted: easy_thumbnails' Thumbnail rows and sorl's
key-value rows (the database), thumbnail files on disk, and thumbnail objects in the bucket (the PUTs).
easy_thumbnails must make none, either way; sorl-thumbnail makes exactly what the preflight stated,
once, and nothing on the way back.  Run under the sandbox lock: the cutover uploads into the shared prefix.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from deploy.sandbox.layout import Layout
from deploy.store.client import s3_client

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import Sandbox, http_get, invoke, shapes_up

pytestmark = pytest.mark.slow

ENV = "--env=sandbox-thumbs"
ACCEPT = "--accept-thumbnail-regeneration"
PHOTOS = 12
EASY_TABLES = ("easy_thumbnails_source", "easy_thumbnails_thumbnail", "easy_thumbnails_thumbnaildimensions")


@pytest.fixture(scope="module")
def shape(sandbox, project_root) -> dict:
    yield shapes_up(project_root, "thumbs", TEST_MEDIA_FILES)["thumbs"]
    invoke(project_root, "sandbox.reset", "--shape=thumbs", "--empty-bucket")  # once, for the tests after


@pytest.fixture
def fresh(shape, project_root) -> dict:
    """The shape afresh: photos and their disk thumbnails made again, switch off, bucket prefix empty."""
    invoke(project_root, "sandbox.reset", "--shape=thumbs", "--empty-bucket")
    return shape


class Site:
    def __init__(self, project_root: Path, shape: dict):
        layout = Layout(project_root)
        self.database, self.media = layout.shape_database("thumbs"), layout.shape_media("thumbs")
        self.urls = [host["site_url"] for host in shape["hosts"].values()]
        self.settings = Sandbox.load(project_root).settings()

    def rows(self) -> dict[str, list]:
        with sqlite3.connect(self.database) as database:
            found = {table: database.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in EASY_TABLES}
            found["thumbnail_kvstore"] = database.execute("SELECT * FROM thumbnail_kvstore ORDER BY key").fetchall()
        return found

    def counts(self) -> dict[str, int]:
        """What making thumbnails leaves behind, in each place."""
        rows = self.rows()
        disk = [path for path in self.media.rglob("*") if path.is_file()]
        client = s3_client(self.settings)
        listed = client.list_objects_v2(Bucket=self.settings.bucket, Prefix=self.settings.media_prefix + "/")
        keys = [item["Key"] for item in listed.get("Contents", [])]
        return {"easy rows": len(rows["easy_thumbnails_thumbnail"]),
                "sorl rows": sum(key.startswith("sorl-thumbnail||image||") and json.loads(value)["name"].startswith("cache/")
                                 for key, value in rows["thumbnail_kvstore"]),  # thumbnails, not their sources
                "easy files": sum(".jpg." in path.name for path in disk),
                "sorl files": sum("cache" in path.parts for path in disk),
                "easy objects": sum(".jpg." in key.rsplit("/", 1)[-1] for key in keys),
                "sorl objects": sum("/cache/" in key for key in keys)}

    def view(self, page: str) -> list[str]:
        """The page on every host, and every thumbnail it links: each must answer 200."""
        linked = []
        for url in self.urls:
            status, body, _ = http_get(f"{url}/{page}/", timeout=60)
            assert status == 200, (url, page, status, body[:500])
            thumbnails = re.findall(r'<img src="([^"]+)"', body.decode())
            assert len(thumbnails) == 2 * PHOTOS, (page, thumbnails)
            for thumbnail in thumbnails:
                absolute = thumbnail if thumbnail.startswith("http") else url + thumbnail
                assert http_get(absolute)[0] == 200, absolute
            linked += thumbnails
        return linked


def made(before: dict, after: dict) -> dict[str, int]:
    return {key: after[key] - before[key] for key in before if after[key] != before[key]}


def test_easy_thumbnails_makes_nothing_in_either_direction_and_sorl_makes_what_was_stated(fresh, project_root):
    site = Site(project_root, fresh)  # seed_thumbs made every thumbnail the pages render, on disk
    seeded, before = site.rows(), site.counts()

    # without the flag, the preflight states sorl's cost and changes nothing
    refused = invoke(project_root, "cutover", ENV, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert (f"sorl-thumbnail: {2 * PHOTOS} thumbnails of {PHOTOS} images will be made again on first view after "
            f"the switch") in refused.stderr
    assert ACCEPT in refused.stderr and "==> flip" not in refused.stdout
    assert site.rows() == seeded

    # the rehearsal cuts over and back under traffic, and counts what the first views make each way
    rehearsal = invoke(project_root, "rehearse", ENV, "--hold=1", "--upload-rate=3", "--readers=1", ACCEPT,
                       check=False, timeout=300)
    assert rehearsal.returncode == 0, rehearsal.stdout[-3000:] + rehearsal.stderr[-3000:]
    assert "easy_thumbnails rows moved: " in rehearsal.stdout and "easy_thumbnails rows put back: " in rehearsal.stdout
    directory = project_root / re.search(r"report: (runs/rehearsal-\S+)/report\.md", rehearsal.stdout)[1]
    report = json.loads((directory / "report.json").read_text())
    views = {view["phase"]: view for view in report["thumbnails"]}
    assert (views["cutover"]["easy_made"], views["cutover"]["sorl_made"]) == (0, 2 * PHOTOS)
    assert views["cutover"]["bucket_writes"] == 2 * PHOTOS  # sorl's, once each; easy_thumbnails' none
    assert (views["rollback"]["easy_made"], views["rollback"]["sorl_made"], views["rollback"]["bucket_writes"]) \
        == (0, 0, 0)
    assert all(view["linked"] == 2 * 2 * 2 * PHOTOS and not view["failed"] for view in views.values())
    assert "## Thumbnails on the first views" in (directory / "report.md").read_text()
    # the same, counted by this test in the database and on disk: sorl's S3 thumbnails came back with the rollback
    after = site.counts()
    assert made(before, after) == {"sorl rows": 2 * PHOTOS, "sorl files": 2 * PHOTOS,
                                   "easy objects": 2 * PHOTOS, "sorl objects": 4 * PHOTOS}  # objects: uploaded
    assert (after["easy objects"], after["sorl objects"]) == (after["easy files"], after["sorl files"])
    with sqlite3.connect(site.database) as database:
        sources = database.execute("SELECT DISTINCT storage_hash FROM easy_thumbnails_source").fetchall()
    assert len(sources) == 1  # every source back under the disk storage's hash

    again = invoke(project_root, "cutover", ENV, ACCEPT)  # a second cutover after a rollback: rows merge
    assert "UNIQUE" not in again.stdout + again.stderr and "easy_thumbnails rows moved: " in again.stdout
    second = site.counts()
    easy_urls = site.view("easy")
    assert all(url.startswith(site.settings.endpoint_url) for url in easy_urls)  # linked at the bucket
    site.view("sorl")
    assert made(second, site.counts()) == {}  # no row, no object (no PUT), no file: sorl's of the first time serve


def test_the_undo_after_a_failed_reload_puts_the_rows_back_exactly(fresh, project_root):
    site = Site(project_root, fresh)
    before = site.rows()
    result = invoke(project_root, "cutover", ENV, ACCEPT, check=False,
                    env={"RELOAD_COMMAND__WEB2": "echo reload broke >&2; exit 3"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "easy_thumbnails rows moved: " in result.stdout
    assert "undo move easy_thumbnails' rows to the new storage" in result.stdout
    assert "easy_thumbnails rows put back: " in result.stdout
    assert site.rows() == before  # byte for byte: every id, hash, name and time
    site.view("easy")
    assert site.rows() == before  # and on disk nothing regenerates
