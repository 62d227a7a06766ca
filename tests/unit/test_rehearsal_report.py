"""The rehearsal report from plain data: journal events and request records in, numbers and pages out."""

import json
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.errors import ConfigError
from deploy.rehearsal import (CUTOVER_NAMES, INJECTED_RELOAD_FAILURE, ROLLBACK_NAMES, RehearsalOptions,
                              load_rehearsal_settings)
from deploy.rehearsal.checks import RELOAD_STEP
from deploy.rehearsal.fetching import Record
from deploy.rehearsal.report import (build_report, observed_switch, phase_from_journal, request_summary,
                                     split_by_fault, step_at)
from deploy.rehearsal.report_markdown import render_markdown

T0 = 1_000_000.0  # the rehearsal's origin (Unix time)


def journal(kind, events, end="ok"):
    """Journal events as deploy.engine.journal writes them; ``events`` are (t, event, fields)."""
    rows = [{"time": T0 + 1, "run_id": f"run-{kind}", "env": "demo", "kind": kind, "event": "start", "pid": 1}]
    rows += [{"time": T0 + t, "run_id": f"run-{kind}", "env": "demo", "kind": kind, "event": event, **fields}
             for t, event, fields in events]
    last = rows[-1]["time"] - T0
    return rows + [{"time": T0 + last + 0.01, "run_id": f"run-{kind}", "env": "demo", "kind": kind,
                    "event": "end", "result": end}]


def step(t0, t1, name, result="ok", event="step"):
    return [(t0, event, {"step": name, "result": "started"}),
            (t1, event, {"step": name, "result": result, "seconds": t1 - t0, "summary": f"{name} done"})]


CUTOVER_EVENTS = journal("cutover", [
    *step(2, 4, "upload media"),
    (4, "counts", {"step": "upload", "files": 10, "bytes": 1000, "transferred": 10, "transferred_bytes": 1000}),
    *step(4, 5, CUTOVER_NAMES.flip),
    (5, "step", {"step": RELOAD_STEP, "result": "started"}),
    (7.5, "host", {"step": "health", "host": "web1", "seconds_to_healthy": 1.5, "healthy_at": T0 + 7.5}),
    (8.5, "host", {"step": "health", "host": "web2", "seconds_to_healthy": 2.4, "healthy_at": T0 + 8.5}),
    (8.5, "step", {"step": RELOAD_STEP, "result": "ok", "seconds": 3.5}),
    *step(8.5, 9, "health check on S3"),
])


def test_a_phase_from_its_journal_has_steps_counts_and_a_window_per_host():
    phase = phase_from_journal(CUTOVER_NAMES, CUTOVER_EVENTS, T0)
    assert phase["result"] == "ok" and phase["run_id"] == "run-cutover"
    assert [s["name"] for s in phase["steps"]] == ["upload media", CUTOVER_NAMES.flip, RELOAD_STEP,
                                                   "health check on S3"]
    assert phase["steps"][0] | {"summary": None} == {"name": "upload media", "kind": "step", "result": "ok",
                                                     "seconds": 2, "start": 2.0, "end": 4.0, "summary": None}
    assert phase["flip_t"] == 4.0
    assert phase["hosts"] == {"web1": {"seconds_to_healthy": 1.5, "healthy_t": 7.5, "window_seconds": 3.5},
                              "web2": {"seconds_to_healthy": 2.4, "healthy_t": 8.5, "window_seconds": 4.5}}
    assert phase["counts"][0] == {"step": "upload", "files": 10, "bytes": 1000, "transferred": 10,
                                  "transferred_bytes": 1000}
    assert phase["failed_step"] is None and phase["undone"] == []


def test_a_failed_phase_names_the_failed_step_and_what_was_undone():
    events = journal("cutover", [
        *step(4, 5, CUTOVER_NAMES.flip),
        *step(5, 6, RELOAD_STEP, result="failed"),
        *step(6, 8, RELOAD_STEP, result="undone", event="undo"),
        *step(8, 8.5, CUTOVER_NAMES.flip, result="undone", event="undo"),
    ], end="failed: step 'reload the sites' failed: web2: exit 3")
    phase = phase_from_journal(CUTOVER_NAMES, events, T0)
    assert phase["failed_step"] == RELOAD_STEP
    assert phase["undone"] == [f"undo {RELOAD_STEP}", f"undo {CUTOVER_NAMES.flip}"]
    assert phase["undo_failed"] == [] and phase["hosts"] == {}
    assert (phase["undone_back_t"], phase["undone_seconds"]) == (8.5, 4.5)  # from the flip to the last undo
    assert phase["result"].startswith("failed: step 'reload the sites'")


def record(t, host="web1", kind="health", status=200, seconds=0.01, error="", storage="", name="", url=""):
    return Record(T0 + t, host, kind, status, seconds, error, storage, url, name)


def test_only_fetches_of_files_uploaded_while_the_hosts_were_split_are_the_faults_doing():
    events = journal("cutover", [
        *step(4, 5, CUTOVER_NAMES.flip),
        *step(5, 9, RELOAD_STEP, result="failed"),
        *step(9, 12, RELOAD_STEP, result="undone", event="undo"),
    ], end="failed")
    phase = phase_from_journal(CUTOVER_NAMES, events, T0)
    uploaded = {"new/1.jpg": T0 + 6, "old/1.jpg": T0 + 2, "late/1.jpg": T0 + 13}
    split_fetch = record(7, kind="media", status=404, error="HTTP 404", name="new/1.jpg")
    bucket_fetch = record(8, kind="media", status=403, error="HTTP 403", name="new/1.jpg")
    records = [split_fetch, bucket_fetch,
               record(7.5, kind="media", status=404, error="HTTP 404", name="old/1.jpg"),    # there before the flip
               record(12.5, kind="media", status=404, error="HTTP 404", name="new/1.jpg"),  # after the undo
               record(14, kind="media", status=404, error="HTTP 404", name="late/1.jpg"),
               record(7, kind="media", status=200, name="new/1.jpg"),                        # not a failure
               record(7, kind="media", status=500, error="HTTP 500", name="new/1.jpg"),     # not a missing file
               record(7, kind="page", status=0, error="ConnectionResetError: reset")]
    explained, rest = split_by_fault(records, phase, uploaded, T0)
    assert explained == [split_fetch, bucket_fetch]
    assert [(r.time - T0, r.status) for r in rest] == [(7.5, 404), (12.5, 404), (14, 404), (7, 500), (7, 0)]
    assert split_by_fault(records, {"flip_t": 4.0, "undone_back_t": None}, uploaded, T0)[0] == []


def test_observed_switch_is_the_first_answer_in_the_new_mode_after_the_flip():
    records = [record(3, storage="disk"), record(5, storage="disk"), record(6.5, storage="s3"),
               record(6.7, storage="disk"), record(7, storage="s3"), record(6, host="web2", storage="s3")]
    records.append(record(20, storage="disk"))  # after the phase: the rollback's business
    seen = observed_switch(records, "web1", 4.0, "s3", T0, until_t=10)
    assert seen == {"first_on_target_t": 6.51, "last_on_old_t": 6.71, "seconds_to_first_answer_on_target": 2.51}


def test_request_summary_counts_by_kind_and_explains_failed_fetches_of_fresh_uploads():
    phases = [phase_from_journal(CUTOVER_NAMES, CUTOVER_EVENTS, T0)]
    records = [record(1, kind="page", seconds=0.002), record(1.5, kind="page", seconds=0.004),
               record(3, kind="upload", status=201, name="up/1.jpg"),
               record(7, kind="media", status=404, error="HTTP 404", name="up/1.jpg", storage="bucket"),
               record(7.2, kind="media", status=200, seconds=0.001)]
    summary = request_summary(records, phases, T0, {"up/1.jpg": T0 + 3})
    assert (summary["made"], summary["failed"]) == (5, 1)
    assert summary["by_kind"]["page"] == {"made": 2, "failed": 0, "p50_ms": 3, "p95_ms": 4, "max_ms": 4,
                                          "reasons": {}}
    assert summary["by_kind"]["media"]["reasons"] == {"HTTP 404": 1}
    assert summary["failed_during"] == {f"cutover: {RELOAD_STEP}": 1}
    assert summary["failed_fetches_of_files_uploaded_during"] == {"cutover: upload media": 1}
    [sample] = summary["failure_samples"]
    assert sample["uploaded_t"] == 3.0 and sample["storage"] == "bucket"
    assert step_at(0.5, phases) == "between steps"


def report_for(records, checks=None, phases=None, uploads=None, **meta):
    phases = phases if phases is not None else [phase_from_journal(CUTOVER_NAMES, CUTOVER_EVENTS, T0)]
    meta = {"run_id": "r1", "env": "demo", "hosts": ["web1", "web2"], "started": T0, "seconds": 12.0,
            "options": {"upload_rate": 5.0, "keep": False}, "fault": None, "summary": "cutover ok", **meta}
    uploads = uploads or {"made": 2, "answered": 2, "checked": 2, "lost": 0, "served_from": {}, "lost_samples": []}
    checks = checks or [{"name": "no upload lost", "ok": True, "detail": "2 checked, 0 lost"}]
    return build_report(meta, phases, records, uploads, {"known": 5, "missing_before": 1}, checks, T0)


def test_report_numbers_and_windows_with_what_the_traffic_saw():
    records = [record(5, storage="disk"), record(6.8, storage="s3", seconds=0.2), record(7, host="web2", storage="s3"),
               record(2, kind="upload", status=201)]
    report = report_for(records)
    assert report["passed"] is True
    web1, web2 = report["windows"]
    assert (web1["host"], web1["from_t"], web1["to_t"], web1["seconds"]) == ("web1", 4.0, 7.5, 3.5)
    assert web1["observed"]["seconds_to_first_answer_on_target"] == 3.0
    assert web2["seconds"] == 4.5
    assert report["sync"][0]["phase"] == "cutover" and report["sync"][0]["files"] == 10
    json.dumps(report)  # plain data all through


def test_a_failed_check_fails_the_report():
    report = report_for([record(1)], checks=[{"name": "no failed request", "ok": False, "detail": "1 failed"}])
    assert report["passed"] is False


def test_markdown_page_links_the_picture_and_shows_the_numbers():
    report = report_for([record(1, kind="media", status=404, error="HTTP 404", url="/media/x.jpg"),
                         record(2, kind="upload", status=201)])
    page = render_markdown(report, "timeline.png")
    assert "![timeline of the steps, request latency and errors](timeline.png)" in page
    assert "| cutover | web1 | 3.50 |" in page
    assert "| media | 1 | 1 |" in page and "HTTP 404: 1" in page
    assert "**0 lost**" in page
    assert f"| {CUTOVER_NAMES.flip} | ok | 4.0 | 1.00 |" in page


SIGNATURE = "5ec7e75197a7" * 5
SIGNED = f"?X-Amz-Credential=AKIAFILE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SIGNATURE}"


def test_a_private_rehearsal_counts_its_anonymous_successes_and_fails_on_one():
    from deploy.rehearsal import RehearsalOptions
    from deploy.rehearsal.checks import _anonymous_check, verdict

    refused = [record(7, kind="unsigned", status=403, storage="bucket", url="http://s3.test/b/media/a.jpg"),
               record(8, kind="unsigned", status=401, storage="bucket", url="http://s3.test/b/media/a.jpg")]
    assert _anonymous_check(True, refused) == []   # a public site: nothing to check
    report = report_for(refused, checks=_anonymous_check(False, refused), public_media=False)
    assert report["passed"] is True and report["requests"]["anonymous"] == {"tried": 2, "successes": 0}
    assert report["requests"]["failed"] == 0   # a refusal is what should happen
    assert "anonymous successes: 0" in render_markdown(report, None)

    answered = refused + [record(9, kind="unsigned", status=200, storage="bucket")]
    report = report_for(answered, checks=_anonymous_check(False, answered), public_media=False)
    assert report["passed"] is False
    assert report["checks"] == [{"name": "no anonymous success", "ok": False, "detail": "signed media URLs asked for "
                                 "without their signature 3 times; anonymous successes: 1"}]
    assert "anonymous successes: 1 (answered 200; any fails the rehearsal)" in render_markdown(report, None)
    phases = [phase_from_journal(CUTOVER_NAMES, CUTOVER_EVENTS, T0)]
    assert "; 3 requests, 0 failed; anonymous successes: 1; 2 uploads" in verdict(RehearsalOptions(), phases, report)
    assert "anonymous" not in report_for(answered)["requests"]   # a public environment's report says nothing of it


def test_no_signed_query_reaches_the_rehearsals_files(tmp_path):
    from types import SimpleNamespace

    from deploy.rehearsal import _write

    signed = f"http://s3.test/b/media/a.jpg{SIGNED}"
    records = [record(7, kind="media", status=403, error=f"HTTP 403 (GET {signed})", url=signed, storage="bucket"),
               record(8, kind="upload", status=201)]
    uploads = {"made": 1, "answered": 1, "checked": 1, "lost": 1, "served_from": {},
               "lost_samples": [{"name": "a.jpg", "problems": [f"web1: {signed}: HTTP 403"]}]}
    report = report_for(records, uploads=uploads, public_media=False)
    assert report["requests"]["failure_samples"][0]["url"] == "http://s3.test/b/media/a.jpg?<redacted>"
    _write(tmp_path, report, SimpleNamespace(records=records), T0)
    for name in ("report.json", "report.md", "requests.jsonl"):
        text = (tmp_path / name).read_text()
        assert "a.jpg" in text and SIGNATURE not in text and "AKIAFILE" not in text, name


def test_the_store_faults_each_phase_retried_are_counted_by_step_and_shown():
    events = journal("cutover", [
        *step(2, 4, "upload media"),
        (4, "counts", {"step": "upload media", "retries": {"503 SlowDown": 3, "ConnectionResetError": 1}}),
        *step(4, 5, CUTOVER_NAMES.flip),
        *step(5, 8, "health check on S3"),
        (8, "counts", {"step": "health check on S3", "retries": {"503 SlowDown": 2}}),
    ])
    rollback = phase_from_journal(ROLLBACK_NAMES, journal("rollback", [*step(12, 13, ROLLBACK_NAMES.flip)]), T0)
    phase = phase_from_journal(CUTOVER_NAMES, events, T0)
    assert phase["store_faults"] == {
        "by_step": {"upload media": {"503 SlowDown": 3, "ConnectionResetError": 1},
                    "health check on S3": {"503 SlowDown": 2}},
        "total": {"503 SlowDown": 5, "ConnectionResetError": 1}, "retried": 6}
    assert rollback["store_faults"] == {"by_step": {}, "total": {}, "retried": 0}
    report = report_for([record(1)], phases=[phase, rollback])
    assert all("retries" not in row for row in report["sync"])   # a section of their own, not "files synced"
    page = render_markdown(report, None)
    assert "## Store faults retried" in page
    assert "| cutover | upload media | 3 × 503 SlowDown, 1 × connection reset |" in page
    assert "| cutover | health check on S3 | 2 × 503 SlowDown |" in page
    assert "In all: cutover 6, rollback 0." in page
    quiet = render_markdown(report_for([record(1)], phases=[rollback]), None)
    assert "None: the store answered every request the first time." in quiet


def test_timeline_picture_is_a_png(tmp_path):
    from deploy.rehearsal.timeline import draw_timeline

    rollback = phase_from_journal(ROLLBACK_NAMES, journal("rollback", [*step(12, 13, ROLLBACK_NAMES.flip)]), T0)
    records = [record(t / 10, kind=kind, seconds=0.001 * t, storage="disk", error="HTTP 500" if t == 50 else "")
               for t in range(100) for kind in ("health", "page")]
    report = report_for(records, phases=[phase_from_journal(CUTOVER_NAMES, CUTOVER_EVENTS, T0), rollback])
    path = draw_timeline(report, records, T0, tmp_path / "timeline.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


# --- settings: production refused, fault injected ---------------------------------------

CONFIG = """\
HOSTS=web1,web2
MEDIA_ROOT=~/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=kill -HUP 1
SITE_URL=http://127.0.0.1:8001
SITE_URL__WEB2=http://127.0.0.1:8002
AWS_STORAGE_BUCKET_NAME=my-media
AWS_ACCESS_KEY_ID=AKIA
AWS_SECRET_ACCESS_KEY=secret
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "stage.env").write_text(CONFIG)
    return tmp_path


def test_production_is_refused_unless_forced(project):
    with pytest.raises(ConfigError, match="PRODUCTION=true .*refused.*--force-production"):
        load_rehearsal_settings("stage", project, RehearsalOptions(), {"PRODUCTION": "true"})
    forced = load_rehearsal_settings("stage", project, RehearsalOptions(force_production=True), {"PRODUCTION": "1"})
    assert forced.production is True


def test_the_injected_fault_replaces_one_hosts_reload_command_only(project):
    settings = load_rehearsal_settings("stage", project, RehearsalOptions(fail_reload_on="web2"), {})
    assert settings.host("web2").reload_command == INJECTED_RELOAD_FAILURE
    assert settings.host("web1").reload_command == load_settings("stage", project, {}).host("web1").reload_command
    with pytest.raises(ConfigError, match="'web9' is not in HOSTS"):
        load_rehearsal_settings("stage", project, RehearsalOptions(fail_reload_on="web9"), {})


def test_no_environment_is_a_clear_error(project):
    with pytest.raises(ConfigError, match="--env=NAME"):
        load_rehearsal_settings(None, project, RehearsalOptions(), {})
