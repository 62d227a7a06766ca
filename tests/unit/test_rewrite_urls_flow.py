"""`invoke rewrite-urls` (deploy.flows.rewrite_urls) on runs made by hand: its steps in order, each change
with its undo, refusals that write nothing, the dry run's diffs, the record and the undo's restore, a
second run that changes nothing, and what the task prints."""

import os
import stat

import pytest
from invoke import MockContext

import tasks
from deploy.engine.run import Options
from deploy.errors import PreflightError, RemoteError
from deploy.flows import rewrite_urls
from deploy.site.edits import content_url_record as record_edits
from deploy.site.edits import content_urls as edits
from deploy.site.edits.dry_run_plan import SavedPlan
from deploy.site.facts import content_urls as facts
from deploy.site.facts.content_urls import StorageUrls
from deploy.site.host_facts import HostFacts
from deploy.site.ops import content_urls as ops
from deploy.site.ops import dry_run_plans, record_room

from .content_fakes import BODY, DATA, ROWS, FakeRun, printed, settings_fixture  # noqa: F401 (a fixture)

BUCKET = "https://my-media.s3.amazonaws.com/media/"


def test_the_flow_is_one_list_of_named_steps_and_only_the_rewrite_changes_anything():
    names = [step.name for step in rewrite_urls.BEFORE_REWRITE + rewrite_urls.REWRITE]
    assert names == ["preflight: hosts and settings files", "preflight: every site on S3", "preflight: the lock",
                     "preflight: what the sites' settings select, and the disk's MEDIA_URL",
                     "preflight: the sites' settings select the bucket",
                     "take the environment lock", "find old media URLs in the content",
                     "which of their files the bucket holds", "the storage's URL for each", "plan the rewrite",
                     "room for the record", "rewrite old media URLs to the storage's", "what remains"]
    undone = {step.name for step in rewrite_urls.REWRITE if step.undo}
    assert undone == {"take the environment lock", "rewrite old media URLs to the storage's"}


def test_a_site_on_disk_is_refused_before_anything_is_read(settings):
    run = FakeRun(settings)
    run.state.switch.hosts = {"web1": HostFacts(original_use_s3=True), "web2": HostFacts(original_use_s3=False)}
    with pytest.raises(PreflightError) as refused:
        rewrite_urls.BEFORE_REWRITE[1].apply(run)
    assert str(refused.value) == ("web2: USE_S3 is off: the site serves media from disk; the content moves to the "
                                  "bucket's URLs only after a cutover (`invoke cutover --env=prod`)")
    run.state.switch.hosts["web2"] = HostFacts(original_use_s3=True, original_mirror=True)
    assert rewrite_urls.BEFORE_REWRITE[1].apply(run) == "every host serves from S3 (web1, web2)"   # a soak is fine


@pytest.fixture
def site(monkeypatch):
    """The content host's site: its content (ROWS hold old URLs until rewritten), its bucket, its storage."""
    held = {"rows": list(ROWS), "rewrites": [], "restores": [], "chars": 4000}

    def find(run, forms, names_limit=facts.NAMES_LIMIT, media_root=True, storage_urls=False, chars=False):
        fields = [BODY, DATA] if held["rows"] else []
        found = {"fields": fields, "fields_scanned": 9}
        if chars:   # the program's --chars: each field's characters in its rows
            found["chars"] = {field["field"]: held["chars"] for field in fields}
        if storage_urls:   # the program's --storage-urls: the URL of every name listed, by the find's start-up
            names = sorted({name for field in fields for name in field["names"]})
            found["storage"] = {"backend": "storages.backends.s3.S3Storage", "local": False,
                                "urls": {name: BUCKET + name for name in names}}
        return facts.parse_find(printed(found), "web2", forms)

    def result(rows, dry_run, shown=0):
        """The program's: each row's key and hash and the first ``shown`` whole (a dry run), or counts only."""
        fields = [{"field": row.label, "changed": 1, "skipped_total": 0, "skipped": []} for row in rows]
        planned = [edits.PlannedRow(row.model, row.field, row.pk, row.hash) for row in rows] if dry_run else []
        return edits.RewriteResult("web2", dry_run, tuple(rows[:shown]), tuple(fields), tuple(planned), (), 9)

    def dry_run(run, forms, plan, shown):
        held["rewrites"].append((True, None))
        return result(held["rows"], True, shown)

    def rewrite(run, forms, plan, expected):
        held["rewrites"].append((False, expected))
        rows, held["rows"] = held["rows"], []
        record = ops.write_record(run, rows, forms) if rows else None   # as fetched from the host
        return ops.Rewritten(result(rows, False), record, len(rows))

    def restore(run, rows):
        held["restores"].append(rows)
        return record_edits.RestoreResult("web2", len(rows), 0, ())
    monkeypatch.setattr(ops, "find", find)
    monkeypatch.setattr(ops, "in_bucket", lambda run, names: set(names) - {"b.pdf"})
    def storage_urls(run, names):
        held["storage_asked"] += 1
        return StorageUrls("storages.backends.s3.S3Storage", False, {name: BUCKET + name for name in names})
    held["storage_asked"] = 0
    monkeypatch.setattr(ops, "storage_urls", storage_urls)
    monkeypatch.setattr(ops, "dry_run", dry_run)
    monkeypatch.setattr(ops, "rewrite", rewrite)
    monkeypatch.setattr(ops, "restore", restore)
    monkeypatch.setattr(record_room, "free_on_host", lambda run, directory: held.setdefault("host_free", 10 << 30))
    return held


def steps_of(run, *names):
    by_name = {step.name: step for step in rewrite_urls.REWRITE}
    return [by_name[name] for name in names]


READ = ("find old media URLs in the content", "which of their files the bucket holds", "the storage's URL for each",
        "plan the rewrite")


def test_the_rewrite_is_recorded_mode_600_its_undo_restores_it_and_a_second_run_changes_nothing(settings, site):
    run = FakeRun(settings)
    said = [step.apply(run) for step in steps_of(run, *READ)]
    assert said[1] == "2 of the 3 files they name are in s3://my-media/"
    assert said[2].startswith("storages.backends.s3.S3Storage: 2 URLs, e.g. ") and site["storage_asked"] == 0
    assert said[3].splitlines()[:2] == ["2 files: their old URLs become the storage's URLs",
                                        "1 file left as it is: not in the bucket (e.g. b.pdf)"]
    [rewrite] = steps_of(run, "rewrite old media URLs to the storage's")
    assert rewrite.apply(run).splitlines() == [
        "web2: blog.Post.body: changed 1 row", "web2: pages.Page.data: changed 1 row",
        f"record: {run.state.content.record} (every row's field before and after; a rollback puts them back)"]
    assert site["rewrites"][-1] == (False, None)   # no dry run before it: each row as it is read
    assert said[3].splitlines()[-1].startswith("no dry run since the last rewrite: each row is rewritten as it is read")
    record = run.state.content.record
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600 and ops.read_record(record) == ROWS

    [remains] = steps_of(run, "what remains")
    finds = len(run.journal.records)
    assert remains.apply(run) == "left: no old media URL (/media/…, //10.0.0.5:8001/media/…, //www.example.com/media/…) " \
                                 "in 9 text fields"   # as the rewrite counted it: no find again
    assert run.journal.records[finds:] == [ops.counts_of(run.state.content.remains)]

    assert rewrite.undo(run).splitlines() == [f"{record.name}:", "web2: 2 rows put back"]
    assert site["restores"] == [ROWS] and ops.pending_records(settings) == []   # no rollback takes it again

    again = FakeRun(settings, run_id="20260103T000000Z-second")
    said = [step.apply(again) for step in steps_of(again, *READ)]
    assert said[3] == "nothing to rewrite"
    assert rewrite.apply(again) == "nothing to rewrite: no row holds an old URL of a file in the bucket"
    assert again.state.content.record is None and len(site["rewrites"]) == 1   # the first run's rewrite, no dry run


def test_without_room_for_the_record_on_the_host_or_here_the_rewrite_is_refused_before_any_row_changes(
        settings, site, monkeypatch):
    run = FakeRun(settings)
    for step in steps_of(run, *READ):
        step.apply(run)
    [room, rewrite] = steps_of(run, "room for the record", "rewrite old media URLs to the storage's")
    on_host = f"{settings.tools_dir}/content-urls"
    # the find: 12 rows in 2 fields of 4,000 characters each: 8,000 x 3 + 12 x 200 bytes, and 64 MiB kept free
    needed = 8000 * 3 + 12 * 200 + (64 << 20)
    assert room.apply(run) == (f"the record of up to 12 rows takes about 0.0 MB: web2 has 10,737 MB free in {on_host}, "
                               f"this machine {record_room.free_here(settings.project_root / 'runs') / 1e6:,.0f} MB "
                               f"in {settings.project_root / 'runs'}")
    site["host_free"] = needed - 1
    with pytest.raises(PreflightError) as refused:
        room.apply(run)
    assert str(refused.value) == (f"web2: the rewrite's record of 12 rows needs about {needed:,} bytes in {on_host} "
                                  f"(8,000 characters of content, twice, with 64 MiB kept free) but its filesystem "
                                  f"has {needed - 1:,} bytes free: free some space there, then run the rewrite "
                                  "again; nothing was changed")
    site["host_free"] = needed
    assert room.apply(run).startswith("the record of up to 12 rows")   # exactly enough
    monkeypatch.setattr(record_room, "free_here", lambda directory: 1000)
    with pytest.raises(PreflightError) as refused:
        room.apply(run)
    assert str(refused.value).startswith(f"this machine: the rewrite's record of 12 rows needs about {needed:,} bytes "
                                         f"in {settings.project_root / 'runs'} ")
    assert site["rewrites"] == [] and rewrite is not None   # the step before the rewrite: nothing written


def test_the_dry_run_shows_each_change_as_a_diff_and_writes_nothing(settings, site):
    run = FakeRun(settings, options=Options(dry_run=True))
    for step in steps_of(run, *READ):
        step.apply(run)   # read-only: they run as they are
    [rewrite] = steps_of(run, "rewrite old media URLs to the storage's")
    shown = rewrite.preview(run)
    assert shown.splitlines()[:4] == ["--- blog.Post.body pk=1 (now)", "+++ blog.Post.body pk=1 (rewritten)",
                                      "@@ -1 +1 @@", '-<img src="/media/a.png">']
    plan = settings.project_root / "runs" / f"{run.run_id}-{settings.env}-content-urls.plan"
    assert shown.splitlines()[-2:] == [f"would change 2 rows, recorded in {ops.record_path(run)}",
                                       f"the rows as read now: {plan} (the next rewrite skips and names a row "
                                       "changed since)"]
    assert site["rewrites"] == [(True, None)] and site["restores"] == []   # nothing written to the site
    assert [path.name for path in (settings.project_root / "runs").iterdir()] == [plan.name]   # the plan only
    assert stat.S_IMODE(plan.stat().st_mode) == 0o600


def test_a_rewrite_after_a_dry_run_holds_each_row_to_it_once_and_refuses_other_urls(settings, site):
    dry = FakeRun(settings, options=Options(dry_run=True))
    for step in steps_of(dry, *READ):
        step.apply(dry)
    [preview] = steps_of(dry, "rewrite old media URLs to the storage's")
    preview.preview(dry)
    plan = settings.project_root / "runs" / f"{dry.run_id}-{settings.env}-content-urls.plan"

    run = FakeRun(settings, run_id="20260103T000000Z-after")
    said = [step.apply(run) for step in steps_of(run, *READ)]
    assert said[3].splitlines()[-1] == (f"each row held to the dry run {dry.run_id} ({plan}: 2 rows): one changed "
                                        "since, or not in it, is skipped and named")
    [rewrite] = steps_of(run, "rewrite old media URLs to the storage's")
    rewrite.apply(run)
    assert site["rewrites"][-1] == (False, {"blog.Post.body": {"1": "h1"}, "pages.Page.data": {"7": "h2"}})
    assert (plan.parent / (plan.name + ".used")).read_text() == run.run_id + "\n"
    rewrite.undo(run)

    # Used: the next rewrite reads each row as it is.
    assert dry_run_plans.latest(settings) is None


def test_a_dry_run_that_showed_other_urls_is_refused_before_anything_is_written(settings, site):
    run = FakeRun(settings, run_id="20260105T000000Z-other")
    runs = settings.project_root / "runs"
    runs.mkdir()
    saved = SavedPlan("20260101T000000Z-old", {"a.png": "https://elsewhere.example/a.png"}, {"blog.Post.body": {"1": "h1"}})
    (runs / f"20260101T000000Z-old-{settings.env}-content-urls.plan").write_text(saved.to_json())
    with pytest.raises(PreflightError) as refused:
        for step in steps_of(run, *READ):
            step.apply(run)
    assert str(refused.value).startswith("the dry run 20260101T000000Z-old (")
    assert "showed other URLs for 1 file than the storage gives now (a.png: shown https://elsewhere.example/a.png, " \
           "now " in str(refused.value)
    assert "run `invoke rewrite-urls --env=" in str(refused.value) and site["rewrites"] == []


def test_the_dry_run_shows_a_bounded_number_of_diffs_and_counts_the_others(settings, site, monkeypatch):
    monkeypatch.setattr(rewrite_urls, "DIFFS", 1)
    run = FakeRun(settings, options=Options(dry_run=True))
    for step in steps_of(run, *READ):
        step.apply(run)
    assert len(run.state.content.shown) == 1 and len(run.state.content.planned) == 2
    [rewrite] = steps_of(run, "rewrite old media URLs to the storage's")
    shown = rewrite.preview(run).splitlines()
    assert shown[0] == "--- blog.Post.body pk=1 (now)" and not any("pages.Page" in line for line in shown)
    assert shown[-3:-1] == ["... and 1 more row", f"would change 2 rows, recorded in {ops.record_path(run)}"]


def test_a_model_that_failed_leaves_the_record_of_those_that_committed_for_the_undo(settings, site, monkeypatch):
    run = FakeRun(settings)
    for step in steps_of(run, *READ):
        step.apply(run)
    monkeypatch.setattr(ops, "rewrite", lambda run, forms, plan, expected: ops.Rewritten(
        None, ops.write_record(run, ROWS[:1], forms), 1,
        "web2: rewriting old media URLs failed: 1 model(s) failed, each rolled back: pages.Page"))
    [rewrite] = steps_of(run, "rewrite old media URLs to the storage's")
    with pytest.raises(RemoteError, match="1 model\\(s\\) failed"):
        rewrite.apply(run)
    assert ops.read_record(run.state.content.record) == ROWS[:1]
    rewrite.undo(run)
    assert site["restores"] == [ROWS[:1]]


def test_the_task_prints_the_step_table_then_its_done_line(settings, monkeypatch, capsys):
    from types import SimpleNamespace
    given = []

    def flow(settings_, options, say):
        given.append(options)
        return SimpleNamespace(outcomes=[SimpleNamespace(name="rewrite old media URLs to the storage's", result="ok",
                                                         seconds=0.42)])
    monkeypatch.setattr(rewrite_urls, "run_rewrite_urls", flow)   # the task imports it when it runs
    monkeypatch.setattr(tasks, "load", lambda env, root: settings)
    tasks.rewrite_urls(MockContext(), env="prod")
    assert capsys.readouterr().out == (
        "STEP                                     RESULT  SECONDS\n"
        "---------------------------------------  ------  -------\n"
        "rewrite old media URLs to the storage's  ok      0.4\n"
        "rewrite-urls of prod done: the content's old media URLs of files in the bucket point at the bucket "
        "(the record is under runs/)\n")
    tasks.rewrite_urls(MockContext(), env="prod", dry_run=True, break_lock=True)
    assert capsys.readouterr().out.endswith("rewrite-urls of prod previewed: nothing changed\n")
    assert given[1].dry_run and given[1].break_lock and not given[0].dry_run
