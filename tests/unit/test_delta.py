"""Delta passes: the real walk on a local "host", the tool stood in for; and what each direction falls back to."""

from __future__ import annotations

import dataclasses
import os
import time
from types import SimpleNamespace

import uuid

import pytest

from deploy.engine.journal import Journal
from deploy.media import complete, delta
from deploy.media.compare import VerifyReport
from deploy.media.passes import Passes

from . import local_host
from .sync_fakes import settings, with_tool  # noqa: F401


@pytest.fixture
def host(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "webapps" / "media" / "a").mkdir(parents=True)
    local_host.install(monkeypatch, delta)
    monkeypatch.setattr(delta, "remove_file", lambda connection, path: connection.path(path).unlink(missing_ok=True))
    return local_host.LocalHost("web1", home)


def fake_run(settings, host, tmp_path, **fields):
    """A run whose state is its passes (the media's functions are handed them: run.state here)."""
    opened = []
    return SimpleNamespace(settings=settings, media_connection=host, run_id="run-1", state=Passes(),
                           journal=Journal(tmp_path / "runs", "run-1", "demo", "cutover"), opened=opened,
                           close_at_end=opened.append, faults=None, **fields)


def write(host, name, data=b"x", when=None):
    path = host.home / "webapps" / "media" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if when is not None:
        os.utime(path, (when, when))  # ctime still moves: only a file made before the mark is old


def test_a_pass_hands_the_tool_exactly_the_files_changed_since_the_previous_one(settings, host, tmp_path,
                                                                                 monkeypatch):
    write(host, "a/old.jpg")
    uploads = []

    def upload_media(connection, settings_, files_from=None, **options):
        uploads.append(connection.path(files_from).read_bytes().split(b"\n"))
        return SimpleNamespace(files_transferred=len(uploads[-1]) - 1)

    monkeypatch.setattr(delta.runner, "upload_media", upload_media)
    run = fake_run(settings, host, tmp_path)
    run.state.disk_mark = time.time() + delta.MARGIN + 0.5   # the previous pass began after old.jpg was written
    time.sleep(0.6)
    write(host, "a/new one.jpg")
    write(host, "b/c/deep.png")
    summary = delta.upload_changed(run, run.state)
    assert sorted(uploads[0]) == [b"", b"a/new one.jpg", b"b/c/deep.png"]   # not a/old.jpg
    assert summary.startswith("2 changed on disk, 2 uploaded")
    assert time.time() - 5 < run.state.disk_mark <= time.time()            # the walk's own start, for the next
    assert list((host.home / ".media-cutover" / "run").iterdir()) == []    # the list is removed
    [event] = [line for line in run.journal.path.read_text().splitlines() if '"pass"' in line]
    assert '"listed": 2' in event and '"copied": 2' in event


def test_nothing_changed_means_no_tool_run_at_all(settings, host, tmp_path, monkeypatch):
    write(host, "a/old.jpg")
    monkeypatch.setattr(delta.runner, "upload_media", lambda *args, **kwargs: pytest.fail("the tool ran"))
    run = fake_run(settings, host, tmp_path)
    run.state.disk_mark = time.time() + delta.MARGIN + 60
    assert delta.upload_changed(run, run.state).startswith("0 changed on disk, 0 uploaded")


@pytest.mark.parametrize("tool, mark", [("rclone", None), ("s5cmd", 1.0), ("s3cmd", 1.0)])
def test_without_a_mark_or_a_tool_that_takes_lists_a_pass_is_a_full_one(settings, host, tmp_path, monkeypatch,
                                                                        tool, mark):
    monkeypatch.setattr(delta.transfer, "upload_missing", lambda run, passes: "full pass")
    run = fake_run(with_tool(settings, tool), host, tmp_path)
    run.state.disk_mark = mark
    assert delta.upload_changed(run, run.state) == "full pass"


def test_a_pass_to_disk_asks_the_sites_database_when_manage_py_is_set(settings, host, tmp_path, monkeypatch):
    names = iter([["uploads/a.jpg", "uploads/b c.jpg"], []])
    monkeypatch.setattr(delta, "ReferenceFeed", lambda run: SimpleNamespace(missing_on_disk=lambda: next(names)))
    downloaded = []
    monkeypatch.setattr(delta, "download_keys",
                        lambda run, keys: downloaded.append(keys) or SimpleNamespace(files_transferred=len(keys)))
    monkeypatch.setattr(delta.manifest, "compare_tree", lambda *a, **k: pytest.fail("the bucket was listed"))
    web1 = dataclasses.replace(settings.host("web1"), manage_py="~/site/manage.py")
    run = fake_run(dataclasses.replace(settings, hosts=(web1, *settings.hosts[1:])), host, tmp_path)
    assert delta.download_changed(run, run.state).startswith("2 referenced, not on disk, 2 downloaded")
    assert downloaded == [["media/uploads/a.jpg", "media/uploads/b c.jpg"]]
    assert delta.download_changed(run, run.state).startswith("0 referenced")  # the same feed, asked again
    assert len(downloaded) == 1
    assert run.opened == [run.state.reference_feed]  # the run closes it at its end


def test_without_manage_py_a_pass_to_disk_lists_the_bucket_against_the_manifest(settings, host, tmp_path,
                                                                                monkeypatch):
    report = VerifyReport(collect=True)
    report.extra.add("media/x.jpg")
    monkeypatch.setattr(delta.manifest, "compare_tree", lambda run, passes, collect=False: (report, 0))
    downloaded = []
    monkeypatch.setattr(delta, "download_keys",
                        lambda run, keys: downloaded.append(keys) or SimpleNamespace(files_transferred=1))
    run = fake_run(settings, host, tmp_path)
    assert delta.download_changed(run, run.state).startswith("1 in the bucket, not on disk")
    assert downloaded == [["media/x.jpg"]]


def test_the_final_check_copies_exactly_what_is_missing_until_nothing_is(settings, host, tmp_path, monkeypatch):
    reports = []
    for missing in (["media/a", "media/b"], ["media/c"], []):
        report = VerifyReport(collect=True)
        for key in missing:
            report.missing.add(key)
        reports.append(report)
    monkeypatch.setattr(complete.manifest, "compare_tree", lambda run, passes, collect=False: (reports.pop(0), 0))
    monkeypatch.setattr(complete.time, "sleep", lambda seconds: None)
    copied = []
    monkeypatch.setattr(complete.delta, "upload_keys",
                        lambda run, keys: copied.append(keys) or SimpleNamespace(files_transferred=len(keys)))
    run = fake_run(settings, host, tmp_path)
    summary = complete.upload_until_complete(run, run.state)
    assert copied == [["media/a", "media/b"], ["media/c"]]
    assert summary.startswith("3 files uploaded by the check") and "OK: the bucket holds every local file" in summary


def test_the_final_check_fails_when_the_files_keep_missing(settings, host, tmp_path, monkeypatch):
    def still_missing(run, passes, collect=False):
        report = VerifyReport(collect=True)
        report.missing.add("media/stuck")
        return report, 0

    monkeypatch.setattr(complete.manifest, "compare_tree", still_missing)
    monkeypatch.setattr(complete.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(complete.delta, "upload_keys", lambda run, keys: SimpleNamespace(files_transferred=0))
    monkeypatch.setattr(complete, "missing_keys", lambda settings, keys, **options: list(keys))
    with pytest.raises(complete.VerifyError, match="after 3 rounds"):
        run = fake_run(settings, host, tmp_path)
        complete.upload_until_complete(run, run.state)


def test_a_file_written_to_both_storages_during_the_last_comparison_is_found_by_its_key(settings, host, tmp_path,
                                                                                        monkeypatch):
    # The mirror writes the bucket, then the disk: a comparison that listed the bucket before and walked the
    # disk after sees it on disk only.  Looked up by its key, it is there.
    def arriving(run, passes, collect=False):
        report = VerifyReport(collect=True)
        report.missing.add(f"media/new-{uuid.uuid4().hex}")
        return report, 0

    monkeypatch.setattr(complete.manifest, "compare_tree", arriving)
    monkeypatch.setattr(complete.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(complete.delta, "upload_keys", lambda run, keys: SimpleNamespace(files_transferred=0))
    looked_up = []
    monkeypatch.setattr(complete, "missing_keys", lambda settings, keys, **options: looked_up.extend(keys) or [])
    run = fake_run(settings, host, tmp_path)
    said = complete.upload_until_complete(run, run.state)
    assert len(looked_up) == 1 and "1 written while the last comparison ran, each found in the bucket" in said
