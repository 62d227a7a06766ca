"""easy_thumbnails' rows at the switch (deploy.site.ops.thumbnails) on a fake media host: which command runs
when, with which record, and what each direction's undo runs.  The script itself runs against a real
Django site in tests/integration/test_thumbnails_script.py, the whole flow in test_shape_thumbs.py."""

from __future__ import annotations

import dataclasses
import json
import shlex
from types import SimpleNamespace

import pytest

from deploy.engine.journal import Journal
from deploy.errors import RemoteError
from deploy.site.ops import thumbnails as easy_rows
from deploy.site.facts import thumbnails
from deploy.site.facts.storage import StorageReport
from deploy.site.facts.thumbnails import MARKER, S3_HASH, EasyMigration

from .fake_results import Result
from .sync_fakes import settings  # noqa: F401

DISK_HASH = thumbnails.storage_hash("django.core.files.storage.filesystem.FileSystemStorage")


class FakeMediaHost:
    """Answers the rows' script by its subcommand, and the record look-up; keeps every command."""

    def __init__(self, newest=None, refuse=None):
        self.original_host, self.commands, self.newest, self.refuse = "web1", [], newest, refuse

    def run(self, command, **kwargs):
        self.commands.append(command)
        if command.startswith("mv -- "):
            return Result("")
        if "sorted(glob.glob(" in command:
            return Result(json.dumps({"record": self.newest}) + "\n")
        kind = "migrate-easy" if "'migrate-easy'" in shlex.split(command)[-1] else "restore-easy"
        if self.refuse:
            return Result(MARKER + json.dumps({"command": kind, "error": self.refuse}) + "\n", exited=1)
        record = shlex.split(command)[-1].split("'--record', ")[1].split("]")[0].strip("'\"")
        counts = {"sources_moved": 12, "thumbnails_moved": 24} if kind == "migrate-easy" else {"sources_restored": 12}
        return Result("6 objects imported automatically\n" + MARKER +
                      json.dumps({"command": kind, "changed": True, "counts": counts, "record": record}) + "\n")

    def scripts(self) -> list[str]:
        return [("migrate" if "'migrate-easy'" in c else "restore" if "'restore-easy'" in c else
                 "mv" if c.startswith("mv") else "look-up") for c in self.commands]


def easy_report(source_hash, thumbnails_hash=None, installed=True) -> dict:
    storage = {"backend": "x", "local": source_hash == DISK_HASH, "hash": thumbnails_hash or source_hash}
    return {"django": "5.2", "default": {"backend": "x", "local": True},
            "easy_thumbnails": {"installed": installed, "version": "2.10.1", "storage": storage,
                                "source_hash": source_hash, "sources": {source_hash: 12},
                                "thumbnails": {thumbnails_hash or source_hash: 24}},
            "sorl": {"installed": False}}


def probe(thumbnail_data) -> StorageReport:
    return StorageReport(host="web1", settings_module="m", switch="False", default=None, staticfiles=None,
                         media_url="/media/", media_root="/m", legacy_default_file_storage=None,
                         thumbnail_alias=None, thumbnail_storage=None, thumbnails=thumbnail_data)


def fake_run(settings, tmp_path, host, before=None):
    """A run, with what the steps hand the rows' functions: its EasyRows (``rows``) and what the preflight's
    storage probe saw (``before``)."""
    hosts = tuple(dataclasses.replace(one, manage_py="~/site/manage.py", site_python="~/venv/bin/python")
                  for one in settings.hosts)
    return SimpleNamespace(settings=dataclasses.replace(settings, hosts=hosts), media_connection=host, run_id="20261202T010203Z-abc123",
                           journal=Journal(tmp_path / "runs", "run-1", "demo", "cutover"),
                           before={"web1": probe(before)} if before is not None else {}, rows=easy_rows.EasyRows())


def test_the_move_follows_the_hashes_the_media_hosts_site_selects_before_and_after_the_flip(settings, tmp_path):
    run = fake_run(settings, tmp_path, FakeMediaHost(), before=easy_report(DISK_HASH))
    migration = easy_rows.plan(run, run.before, {"web1": probe(easy_report(S3_HASH))})
    assert migration == EasyMigration(DISK_HASH, S3_HASH, DISK_HASH, S3_HASH)
    assert easy_rows.plan(run, run.before, {"web1": probe(easy_report(DISK_HASH))}) is None  # nothing moves
    assert easy_rows.plan(run, run.before, {"web2": probe(easy_report(S3_HASH))}) is None    # not the media host
    assert easy_rows.plan(run, {}, {"web1": probe(easy_report(S3_HASH))}) is None


def test_without_easy_thumbnails_nothing_runs_on_the_host(settings, tmp_path):
    host = FakeMediaHost()
    run = fake_run(settings, tmp_path, host, before=easy_report(DISK_HASH, installed=False))
    assert easy_rows.to_bucket(run, run.rows, run.before) == \
        "easy_thumbnails is not installed on the media host's site: nothing to move"
    assert easy_rows.back_from_bucket(run, run.rows) == "" and host.commands == []


def test_the_cutover_moves_with_a_record_of_its_own_and_its_undo_puts_that_record_back(settings, tmp_path):
    host = FakeMediaHost()
    run = fake_run(settings, tmp_path, host, before=easy_report(DISK_HASH))
    run.rows.migration = EasyMigration(DISK_HASH, S3_HASH, DISK_HASH, S3_HASH)
    summary = easy_rows.to_bucket(run, run.rows, run.before)
    record = f"{settings.tools_dir.rstrip('/')}/thumbnails/20261202T010203Z-abc123-demo-easy-rows.json"
    assert summary == f"web1: easy_thumbnails rows moved: 12 sources moved, 24 thumbnails moved (record {record})"
    assert run.rows.record == record
    assert easy_rows.back_from_bucket(run, run.rows).startswith(
        "web1: easy_thumbnails rows put back: 12 sources restored")
    assert host.scripts() == ["migrate", "restore", "mv"]  # the record restored is marked so
    assert host.commands[-1].endswith("-demo-easy-rows.json.restored")
    assert run.rows.record is None


def test_the_rollback_restores_the_cutovers_record_and_its_undo_moves_the_rows_again(settings, tmp_path):
    host = FakeMediaHost(newest="/home/u/.media-cutover/thumbnails/20261201T000000Z-x-demo-easy-rows.json")
    run = fake_run(settings, tmp_path, host, before=easy_report(S3_HASH))
    run.rows.migration = EasyMigration(S3_HASH, DISK_HASH, S3_HASH, DISK_HASH)
    assert "rows put back" in easy_rows.to_disk(run, run.rows, run.before)
    assert host.scripts() == ["look-up", "restore", "mv"]
    assert S3_HASH in host.commands[0] and "demo" in host.commands[0]  # a record of this env's move to S3
    assert easy_rows.back_from_disk(run, run.rows).startswith("web1: easy_thumbnails rows moved")
    migrate = shlex.split(host.commands[-1])[-1]
    assert f"'--from-hash', '{DISK_HASH}', '--to-hash', '{S3_HASH}'" in migrate  # to the bucket's hash again


def test_a_rollback_without_a_record_moves_the_rows_itself_recorded(settings, tmp_path):
    host = FakeMediaHost(newest=None)
    run = fake_run(settings, tmp_path, host, before=easy_report(S3_HASH))
    run.rows.migration = EasyMigration(S3_HASH, DISK_HASH, S3_HASH, DISK_HASH)
    assert easy_rows.to_disk(run, run.rows, run.before).endswith("(no record of a cutover's move: moved, recorded)")
    assert host.scripts() == ["look-up", "migrate"] and run.rows.record is not None
    easy_rows.back_from_disk(run, run.rows)
    assert host.scripts()[-2:] == ["restore", "mv"]


def test_a_refusal_of_the_script_is_one_line_naming_the_host(settings, tmp_path):
    run = fake_run(settings, tmp_path, FakeMediaHost(refuse="the record x exists already: restore it"),
                   before=easy_report(DISK_HASH))
    run.rows.migration = EasyMigration(DISK_HASH, S3_HASH, DISK_HASH, S3_HASH)
    with pytest.raises(RemoteError, match=r"^web1: moving easy_thumbnails' rows failed: the record x exists"):
        easy_rows.to_bucket(run, run.rows, run.before)


def test_a_thumbnail_check_that_failed_moves_nothing(settings, tmp_path):
    run = fake_run(settings, tmp_path, FakeMediaHost(), before={"error": "ImportError: no module named PIL"})
    assert easy_rows.plan(run, run.before, {"web1": probe(easy_report(DISK_HASH))}) is None
