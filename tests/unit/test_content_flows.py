"""The content's old media URLs in the flows (deploy.flows.content, deploy.site.ops.content_urls) on runs made
by hand: the program's output read as the adapter gets it, the record (mode 600) and its restore, the
cutover's report line, reclaim's refusal, and what `invoke content-urls` prints."""

import json
import os
import shlex
import stat
from dataclasses import replace

import pytest
from invoke import MockContext

import tasks
from deploy.engine.counts import ContentRewriteCounts, ContentUrlCounts
from deploy.engine.run import Options
from deploy.errors import PreflightError, RemoteError
from deploy.flows import content
from deploy.flows.state import FlowState
from deploy.remote.ssh import Ran
from deploy.site.edits import content_url_record as record_edits
from deploy.site.edits import content_urls as edits
from deploy.site.facts import content_urls as facts
from deploy.site.ops import content_urls as ops

from .content_fakes import BODY, DATA, ROWS, FakeRun, printed, settings_fixture  # noqa: F401 (a fixture)

def sent(command: str) -> str:
    """The program's text a site_shell command line runs."""
    words = shlex.split(command.split(" && ", 1)[1])
    return words[words.index("-c") + 1]


@pytest.fixture
def program(monkeypatch):
    """The content host's answers, in order; the commands and inputs it was given."""
    calls, answers = [], []

    def run(connection, command, data, what, timeout=120):
        calls.append((connection, command, data))
        return answers.pop(0)
    monkeypatch.setattr(ops, "run_with_input_to_end", run)
    return calls, answers


# --- the adapter ------------------------------------------------------------------------------

def test_the_find_runs_on_the_first_host_whose_site_can_run_and_is_journaled(settings, program):
    calls, answers = program
    answers.append(Ran(printed({"fields": [BODY, DATA], "fields_scanned": 9}), "", 0))
    run = FakeRun(settings)
    report = ops.find(run, content.forms(run))
    assert calls[0][0] == "web2" and sent(calls[0][1]).endswith(
        "main(['find', '--media-url', '/media/', '--host', '10.0.0.5:8001', '--host', 'www.example.com', "
        "'--names-limit', '1000', '--media-root', '~/webapps/media']))\n")
    assert report.summary() == ("27 old media URLs in 2 fields (blog.Post.body 25, pages.Page.data 2; /media/…, "
                                "//10.0.0.5:8001/media/…, //www.example.com/media/…)")
    [counts] = run.journal.records
    assert counts == ContentUrlCounts(host="web2", forms=["/media/…", "//10.0.0.5:8001/media/…",
                                                          "//www.example.com/media/…"],
                                      urls=27, rows=12, by_field={"blog.Post.body": 25, "pages.Page.data": 2})


def test_a_program_that_fails_without_a_report_is_a_remote_error_with_its_last_words(settings, program):
    program[1].append(Ran("", "Traceback (most recent call last):\nImportError: No module named django\n", 1))
    with pytest.raises(RemoteError, match="web2: looking for old media URLs in the content failed \\(exit 1\\): "
                                          "Traceback .* ImportError: No module named django"):
        ops.find(FakeRun(settings), facts.url_forms("/media/", []))


def host_record(rows, cut=0) -> tuple[bytes, dict]:
    """The program's record on the host (its bytes, less ``cut`` at the end), and what its report says of it."""
    import hashlib
    data = "".join(json.dumps(row.data()) + "\n" for row in rows).encode()
    said = {"path": "/home/u/.media-cutover/content-urls/x.jsonl", "rows": len(rows), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}
    return data[:len(data) - cut], said


@pytest.fixture
def fetched(monkeypatch):
    """The record's bytes ``cat`` streams from the content host (in two chunks), and the commands run."""
    held = {"data": b"", "commands": []}

    def chunks(connection, command, what):
        held["commands"].append((connection, command))
        data = held["data"]
        yield from (data[:len(data) // 2], data[len(data) // 2:])
    monkeypatch.setattr(ops, "output_chunks", chunks)
    return held


def test_the_rewrite_prints_counts_and_its_record_is_fetched_once_checked_and_mode_600(settings, program, fetched):
    fetched["data"], said = host_record(ROWS)
    fields = [{"field": "blog.Post.body", "changed": 1, "skipped": [], "skipped_total": 0},
              {"field": "pages.Page.data", "changed": 1, "skipped": [], "skipped_total": 0}]
    program[1].append(Ran(printed({"command": "rewrite", "dry_run": False, "fields": fields, "record": said,
                                   "fields_scanned": 9, "left": [{"field": "blog.Post.body", "type": "TextField",
                                                                  "rows": 1, "urls": 2}]}), "", 0))
    run = FakeRun(settings)
    forms = facts.url_forms("/media/", [])
    done = ops.rewrite(run, forms, edits.RewritePlan({}), expected={"blog.Post.body": {"1": "h1"}})
    assert done.rows == 2 and done.failed == "" and done.result.changed == 2
    assert done.record == ops.record_path(run) and ops.read_record(done.record) == ROWS
    assert stat.S_IMODE(os.stat(done.record).st_mode) == 0o600
    assert done.record.read_text().splitlines()[0] == json.dumps(
        {"env": "prod", "media_url": "/media/", "record": record_edits.RECORD_KIND, "run_id": "20260102T030405Z-abcdef"})
    assert [path.name for path in done.record.parent.iterdir()] == [done.record.name]   # no partial left
    command = sent(program[0][0][1])
    assert command.endswith("'--record', '~/.media-cutover/content-urls/20260102T030405Z-abcdef-prod.jsonl', "
                            "'--shown', '0']))\n")
    remote = '"$HOME"/.media-cutover/content-urls/20260102T030405Z-abcdef-prod.jsonl'
    assert fetched["commands"] == [("web2", f"if [ -e {remote} ]; then cat {remote}; fi")]
    assert done.result.remains(forms).summary() == "2 old media URLs in 1 field (blog.Post.body 2; /media/…)"


@pytest.mark.parametrize("cut, why", [(1, "ends in the middle of a line"), (0, "rows 2 \\(the program wrote 3\\)")])
def test_a_record_cut_short_or_not_the_one_written_is_refused_and_leaves_no_file(settings, program, fetched, cut, why):
    fetched["data"], said = host_record(ROWS, cut)
    said["rows"] += 0 if cut else 1
    program[1].append(Ran(printed({"command": "rewrite", "dry_run": False, "fields": [], "record": said}), "", 0))
    run = FakeRun(settings)
    with pytest.raises(RemoteError, match=why):
        ops.rewrite(run, facts.url_forms("/media/", []), edits.RewritePlan({}), expected={})
    assert list(ops.record_path(run).parent.iterdir()) == []
    fetched["data"] = host_record(ROWS)[0]   # the undo's fetch: what parses, whatever the program said
    assert ops.read_record(ops.fetch_record(run, facts.url_forms("/media/", []))) == ROWS


def test_the_rows_of_the_models_that_committed_are_kept_when_a_later_one_failed(settings, program, fetched):
    fetched["data"], said = host_record(ROWS)
    program[1].append(Ran(printed({"command": "rewrite", "error": "1 model(s) failed, each rolled back: x",
                                   "record": said}), "", 1))
    run = FakeRun(settings)
    done = ops.rewrite(run, facts.url_forms("/media/", []), edits.RewritePlan({}), expected={})
    assert done.result is None and done.rows == 2 and ops.read_record(done.record) == ROWS
    assert done.failed == "web2: rewriting old media URLs failed: 1 model(s) failed, each rolled back: x"


def test_a_record_with_no_room_here_is_one_line_naming_where_it_stays_and_leaves_no_file(
        settings, program, fetched, monkeypatch):
    fetched["data"], said = host_record(ROWS)
    program[1].append(Ran(printed({"command": "rewrite", "dry_run": False, "fields": [], "record": said}), "", 0))
    run = FakeRun(settings)
    monkeypatch.setattr(ops.shutil, "disk_usage", lambda path: type("Usage", (), {"free": said["bytes"]})())
    with pytest.raises(RemoteError) as failed:
        ops.rewrite(run, facts.url_forms("/media/", []), edits.RewritePlan({}), expected={})
    assert str(failed.value) == (
        f"this machine: the rewrite's record ({said['bytes']:,} bytes) could not be written to "
        f"{ops.record_path(run).parent} ({said['bytes']:,} bytes free); it stays whole on web2 at "
        "~/.media-cutover/content-urls/20260102T030405Z-abcdef-prod.jsonl (mode 600), and the rows it holds keep "
        f"the bucket's URLs, which fetch: free some space in {ops.record_path(run).parent}")
    assert list(ops.record_path(run).parent.iterdir()) == [] and fetched["commands"] == []   # nothing fetched


def test_a_host_without_the_record_gives_none_to_fetch(settings, fetched):
    assert ops.fetch_record(FakeRun(settings), facts.url_forms("/media/", [])) is None
    assert not ops.record_path(FakeRun(settings)).exists()


def test_the_dry_run_sends_each_rows_key_and_hash_and_a_few_rows_whole(settings, program):
    hashes = "".join(edits.HASH_MARKER + json.dumps({"model": row.model, "field": row.field, "pk": row.pk,
                                                       "hash": row.hash}) + "\n" for row in ROWS)
    program[1].append(Ran(hashes + printed({"command": "rewrite", "dry_run": True, "fields": []}, ROWS[:1]), "", 0))
    result = ops.dry_run(FakeRun(settings), facts.url_forms("/media/", []), edits.RewritePlan({}), shown=1)
    assert sent(program[0][0][1]).endswith("'--dry-run', '--shown', '1', '--hashes']))\n")
    assert result.rows == tuple(ROWS[:1])
    assert result.planned == (edits.PlannedRow("blog.Post", "body", 1, "h1"), edits.PlannedRow("pages.Page", "data", 7, "h2"))
    assert edits.expected_hashes(result.planned) == edits.expected_hashes(ROWS) == {
        "blog.Post.body": {"1": "h1"}, "pages.Page.data": {"7": "h2"}}


def test_the_record_is_mode_600_made_once_read_back_whole_and_marked_restored(settings):
    run = FakeRun(settings)
    forms = facts.url_forms("/media/", [])
    path = ops.write_record(run, ROWS, forms)
    assert path == settings.project_root / "runs" / "20260102T030405Z-abcdef-prod-content-urls.record"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ops.read_record(path) == ROWS
    with pytest.raises(FileExistsError):
        ops.write_record(run, ROWS, forms)
    assert ops.pending_records(settings) == [path]
    marker = ops.mark_restored(path, "20260103T000000Z-fedcba", record_edits.RestoreResult("web2", 2, 0, ()))
    assert stat.S_IMODE(os.stat(marker).st_mode) == 0o600 and ops.pending_records(settings) == []
    assert path.exists()   # kept: it says what the rewrite did


# --- the rollback's restore ------------------------------------------------------------------------

def test_the_rollback_puts_back_each_record_not_yet_restored_and_a_second_changes_nothing(settings, program):
    calls, answers = program
    forms = facts.url_forms("/media/", [])
    older = ops.write_record(FakeRun(settings, run_id="20260101T000000Z-aaaaaa"), ROWS[:1], forms)
    newer = ops.write_record(FakeRun(settings), ROWS[1:], forms)
    answers += [Ran(printed({"command": "restore", "restored": 1, "already": 0, "named": []}), "", 0),
                Ran(printed({"command": "restore", "restored": 0, "already": 0, "named": [
                    {"model": "blog.Post", "field": "body", "pk": 1, "why": "changed since the rewrite"}]}), "", 0)]
    run = FakeRun(settings, run_id="20260105T000000Z-rollbk")
    assert content.preview_restore(run) == (f"would put back the 1 row of {newer}\n"
                                            f"would put back the 1 row of {older}")
    assert content.restore_rewrites(run).splitlines() == [
        f"{newer.name}:", "web2: 1 row put back",
        f"{older.name}:", "web2: 0 rows put back",
        "web2: NOT put back: blog.Post.body pk 1 (changed since the rewrite)"]
    assert [json.loads(line) for line in calls[0][2].decode().splitlines()] == [ROWS[1].data()]  # newest first
    assert run.journal.records[1] == ContentRewriteCounts(action="restore", rows=0, skipped=1, record=str(older))
    assert content.restore_rewrites(run) == "no rewrite of the content's URLs to put back" and len(calls) == 2


def test_a_rollback_that_fails_later_writes_the_bucket_urls_again_in_exactly_the_rows_it_put_back(settings, program):
    from deploy.engine.runner import Runner, Step
    from deploy.errors import StepFailed
    calls, answers = program
    third = edits.RowChange("blog.Post", "body", 2, "/media/d.png", "https://my-media.s3.amazonaws.com/media/d.png",
                            "h3")
    path = ops.write_record(FakeRun(settings, run_id="20260101T000000Z-aaaaaa"), [*ROWS, third],
                            facts.url_forms("/media/", []))
    put_back = [{"model": row.model, "field": row.field, "pk": row.pk} for row in ROWS]
    answers += [Ran(printed({"command": "restore", "restored": 2, "already": 1, "named": [], "rows": put_back}), "", 0),
                Ran(printed({"command": "restore", "restored": 1, "already": 0, "rows": put_back[:1], "named": [
                    {"model": "pages.Page", "field": "data", "pk": 7, "why": "changed since the rewrite"}]}), "", 0)]

    def fails(run):
        assert ops.pending_records(settings) == []   # marked restored
        raise RemoteError("web1: settings back to disk failed")
    said, run = [], FakeRun(settings, run_id="20260105T000000Z-rollbk")
    with pytest.raises(StepFailed):
        Runner(run.journal, said.append).execute([content.RESTORE_CONTENT, Step("settings back", fails)], run)
    sent_back = [edits.RowChange.read(json.loads(line)) for line in calls[1][2].decode().splitlines()]
    assert sent_back == [row.swapped() for row in ROWS]   # the third held its old value already: not taken
    assert sent_back[0].after == ROWS[0].before and sent_back[0].before == ROWS[0].after
    assert said[-2:] == ["<== undo put the content's old media URLs back",
                         f"    {path.name}:\n    web2: 1 row holds the rewritten URLs again\n"
                         "    web2: NOT rewritten again: pages.Page.data pk 7 (changed since it was put back)"]
    assert run.journal.records[-2] == ContentRewriteCounts(action="rewrite again", rows=1, skipped=1, record=str(path))
    assert ops.pending_records(settings) == [path] and run.state.content.restored == []   # the next rollback: again


# --- the preflights ----------------------------------------------------------------------------------

def found(monkeypatch, *fields):
    def find(run, forms, names_limit=facts.NAMES_LIMIT, media_root=True):
        return facts.parse_find(printed({"fields": list(fields), "fields_scanned": 9}), "web2", forms)
    monkeypatch.setattr(ops, "find", find)


def test_the_cutovers_preflight_says_how_many_and_never_refuses(settings, monkeypatch):
    found(monkeypatch, BODY)
    assert content.report_content_urls(FakeRun(settings)) == (
        "content: 25 old media URLs in 1 field (blog.Post.body 25; /media/…, //10.0.0.5:8001/media/…, "
        "//www.example.com/media/…)\n"
        "    they keep asking the web servers after the switch: `invoke rewrite-urls --env=prod` once on S3, or "
        "`invoke settings-snippet --env=prod --part=nginx`")

    def broken(*args, **kwargs):
        raise RemoteError("web2: looking for old media URLs in the content failed: OperationalError: locked")
    monkeypatch.setattr(ops, "find", broken)
    assert content.report_content_urls(FakeRun(settings)) == (
        "content: not looked at (web2: looking for old media URLs in the content failed: OperationalError: locked); "
        "the cutover goes on")


def test_reclaim_is_refused_in_one_line_while_old_urls_remain_unless_redirected_or_accepted(settings, monkeypatch):
    found(monkeypatch, BODY, DATA)
    problem = ("web1: http://10.0.0.5:8001/media/media-cutover-probe-1a2b3c4d.jpg answered HTTP 404, expected 301 to "
               "https://my-media.s3.amazonaws.com/media/media-cutover-probe-1a2b3c4d.jpg")
    monkeypatch.setattr(content, "redirect_installed", lambda run, report: (["web2"], [problem]))
    with pytest.raises(PreflightError) as refused:
        content.refuse_content_urls(FakeRun(settings))
    assert str(refused.value) == (
        "content: 27 old media URLs in 2 fields (blog.Post.body 25, pages.Page.data 2; /media/…, "
        "//10.0.0.5:8001/media/…, //www.example.com/media/…) still ask the disk reclaim frees, and a name not on "
        f"disk is not redirected to the bucket ({problem}): rewrite them first (`invoke rewrite-urls --env=prod`), "
        "or install the redirect from `invoke settings-snippet --env=prod --part=nginx`; or pass "
        "--accept-content-urls")
    with pytest.raises(PreflightError, match=r"or install the redirect from `invoke settings-snippet --env=prod "
                                             r"--part=django-redirect`; or pass --accept-content-urls$"):
        content.refuse_content_urls(FakeRun(replace(settings, public_media=False)))   # nginx cannot sign
    assert content.report_content_urls(FakeRun(replace(settings, public_media=False))).endswith(
        "`invoke settings-snippet --env=prod --part=django-redirect`")
    run = FakeRun(settings, options=Options(accept_content_urls=True))
    assert content.refuse_content_urls(run).endswith(
        f": accepted (--accept-content-urls); the redirect to the bucket was not seen: {problem}")
    assert run.state.content.redirect.decided == "accepted"
    monkeypatch.setattr(content, "redirect_installed", lambda run, report: (["web1", "web2"], []))
    run = FakeRun(settings)
    assert content.refuse_content_urls(run).endswith(
        "//www.example.com/media/…): redirected to the bucket (checked on web1, web2)")
    assert run.state.content.redirect.decided == "redirected"
    found(monkeypatch)
    assert content.refuse_content_urls(FakeRun(settings)).startswith("content: no old media URL (/media/…")


# --- `invoke content-urls` ---------------------------------------------------------------------------

def test_the_content_urls_task_prints_a_table_by_field_then_what_to_do(settings, monkeypatch, capsys):
    state = FlowState().content
    state.report = facts.parse_find(printed({"fields": [BODY, DATA], "fields_scanned": 9}), "web2",
                                    facts.url_forms("/media/", ["http://10.0.0.5:8001"], ["www.example.com"]))
    state.in_bucket = {"a.png", "c.png"}
    monkeypatch.setattr(tasks, "load", lambda env, root: settings)
    from deploy.flows import find_content
    monkeypatch.setattr(find_content, "run_find", lambda settings_, say: (None, state))   # imported as the task runs
    tasks.content_urls(MockContext(), env="prod")
    assert capsys.readouterr().out == (
        "FIELD            ROWS  URLS  FILES ON DISK  IN BUCKET  E.G.\n"
        "---------------  ----  ----  -------------  ---------  "
        + "-" * len("/media/a.png, https://www.example.com/media/b.pdf, /media/c.png") + "\n"
        "blog.Post.body   10    25    3/3            2/3        "
        "/media/a.png, https://www.example.com/media/b.pdf, /media/c.png\n"
        "pages.Page.data  2     2     1/1            1/1        /media/c.png\n"
        "`invoke rewrite-urls --env=prod --dry-run` shows how each would change to the bucket's URL; "
        "`invoke settings-snippet --env=prod --part=nginx` keeps them answering meanwhile\n")


# --- where the flows take these steps, `invoke status` ----------------------------------------------

def test_the_rollback_puts_the_content_back_once_the_disk_has_the_files_and_reclaim_checks_it_first():
    from deploy.flows import reclaim, rollback
    names = [step.name for step in rollback.ROLLBACK]
    assert names[2:4] == ["download media missing on disk", "put the content's old media URLs back"]
    assert rollback.MIRROR_ROLLBACK[2] is content.RESTORE_CONTENT
    assert content.RESTORE_CONTENT.undo is content.rewrite_again
    names = [step.name for step in reclaim.BEFORE_RECLAIM]
    assert names.index("preflight: no old media URLs in the content") == 1 + names.index(
        "preflight: the sites' settings select the bucket")


def test_reclaims_task_hands_on_accept_content_urls(settings, monkeypatch):
    given = []
    monkeypatch.setattr(tasks, "load", lambda env, root: settings)
    from deploy.flows import reclaim
    monkeypatch.setattr(reclaim, "run_reclaim", lambda settings_, options, say: given.append(options) or
                        type("R", (), {"outcomes": []})())
    tasks.reclaim(MockContext(), env="prod", accept_content_urls=True)
    assert given[0].accept_content_urls and not given[0].delete_local


def journal(settings, run_id, kind, *events, dry_run=False):
    from deploy.engine.journal import Journal
    written = Journal(settings.project_root / "runs", run_id, "prod", kind, dry_run)
    for event in events:
        written.record(event)


def test_status_says_the_last_finds_count_and_the_rewrites_not_put_back(settings):
    from deploy.flows import status
    assert status.content_line(settings) == ("not looked at: `invoke content-urls --env=prod` finds old media URLs "
                                             "in the content")
    counts = ContentUrlCounts(host="web2", forms=["/media/…"], urls=27, rows=12,
                              by_field={"pages.Page.data": 2, "blog.Post.body": 25})
    journal(settings, "20260101T000000Z-aaaaaa", "content-urls", counts)
    journal(settings, "20260102T000000Z-bbbbbb", "rewrite-urls", ContentUrlCounts(
        host="web2", forms=["/media/…"], urls=0, rows=0, by_field={}), dry_run=True)   # a dry run: not taken
    line = status.content_line(settings)
    assert line.startswith("27 old media URLs in 2 fields (blog.Post.body 25, pages.Page.data 2), as content-urls "
                           "20260101T000000Z-aaaaaa found at 20")
    ops.write_record(FakeRun(settings), ROWS, facts.url_forms("/media/", []))
    journal(settings, "20260102T030405Z-abcdef", "rewrite-urls", ContentUrlCounts(
        host="web2", forms=["/media/…"], urls=0, rows=0, by_field={}))
    assert status.content_line(settings).startswith("no old media URL, as rewrite-urls 20260102T030405Z-abcdef")
    assert status.content_line(settings).endswith(
        "; 1 rewrite records not put back (20260102T030405Z-abcdef-prod-content-urls.record): a rollback puts "
        "them back")

    # A rollback puts the rewrite back: the count before it no longer holds, and the line says so.
    journal(settings, "20260103T000000Z-cccccc", "rollback", ContentRewriteCounts(
        action="restore", rows=12, skipped=0, record="runs/20260102T030405Z-abcdef-prod-content-urls.record"))
    assert "; since then rollback 20260103T000000Z-cccccc put 12 rows back at 20" in status.content_line(settings)
    assert status.content_line(settings).split(": they hold old media URLs again")[1].startswith(
        " (`invoke content-urls --env=prod` counts them)")
    # ... unless a later count saw them, or its own undo wrote them again.
    journal(settings, "20260104T000000Z-dddddd", "content-urls", counts)
    assert "since then" not in status.content_line(settings)
    journal(settings, "20260105T000000Z-eeeeee", "rollback",
            ContentRewriteCounts(action="restore", rows=12, skipped=0, record="r"),
            ContentRewriteCounts(action="rewrite again", rows=12, skipped=0, record="r"))
    assert "since then" not in status.content_line(settings)
