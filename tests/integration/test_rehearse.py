"""`invoke rehearse --env=sandbox` end to end: a short rehearsal under live traffic, then its report's numbers."""

import json
import re

import pytest

from .sandbox_client import assert_provisioned_key_on_an_empty_prefix, invoke, reset

pytestmark = pytest.mark.slow
SHORT = ("--hold=1", "--upload-rate=3", "--readers=1")

@pytest.fixture
def fresh(sandbox, project_root):
    reset(project_root)
    assert_provisioned_key_on_an_empty_prefix(sandbox)
    yield sandbox
    reset(project_root)


def rehearse(project_root, *args):
    result = invoke(project_root, "rehearse", "--env=sandbox", *SHORT, *args, check=False, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 2), result.stdout[-3000:] + result.stderr[-3000:]
    directory = project_root / re.search(r"report: (runs/rehearsal-\S+)/report\.md", result.stdout)[1]
    report = json.loads((directory / "report.json").read_text())
    records = [json.loads(line) for line in (directory / "requests.jsonl").read_text().splitlines()]
    assert result.returncode == (0 if report["passed"] else 2)
    assert (directory / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](timeline.png)" in (directory / "report.md").read_text()
    return result, report, records


def assert_no_upload_lost(report):
    uploads = report["uploads"]
    assert uploads["answered"] > 5 and uploads["checked"] == uploads["answered"]
    assert uploads["lost"] == 0, uploads["lost_samples"]


def assert_no_failed_request(report):
    """The reload drops nothing, and the syncs around it leave no media URL unfetchable."""
    assert report["requests"]["failed"] == 0, report["requests"]["failure_samples"]


def test_a_rehearsal_cuts_over_and_back_under_traffic_and_reports_it(fresh, project_root):
    # In mirror mode (copy mode's rehearsals: the reload fault below, and shape (b)'s through nginx).
    result, report, records = rehearse(project_root, "--changeover=mirror")

    cutover, rollback = report["phases"]
    assert (cutover["phase"], cutover["result"], rollback["phase"], rollback["result"]) == \
        ("cutover", "ok", "rollback", "ok")
    assert (cutover["mode"], rollback["mode"]) == ("mirror", "mirror")
    assert cutover["files_moved"] > 0 and rollback["files_moved"] == 0  # a mirror rollback downloads nothing
    assert "CHANGEOVER=mirror" in result.stdout and "rollback  ok" in result.stdout
    assert re.search(r"rollback  ok, [0-9.]+ s in all, mirror mode, 0 files copied", result.stdout)
    assert "reload the sites with the mirror on" in {step["name"] for step in cutover["steps"]}
    steps = {step["name"]: step for step in cutover["steps"]}
    for name in ("preflight: hosts and settings files", "upload media", "verify the bucket", "flip USE_S3 = True",
                 "reload the sites", "catch up while the sites switch over", "health check on S3",
                 "verify the bucket holds every file"):
        assert steps[name]["result"] == "ok" and steps[name]["seconds"] >= 0
    assert {"settings back to disk", "reload the sites", "health check on disk"} <= \
        {step["name"] for step in rollback["steps"]}
    uploaded = [row for row in report["sync"] if row["phase"] == "cutover" and row["step"] == "upload"]
    assert uploaded[0]["files"] > 0 and uploaded[0]["bytes"] > 0

    windows = {(window["phase"], window["host"]): window for window in report["windows"]}
    assert set(windows) == {(phase, host) for phase in ("cutover", "rollback") for host in ("web1", "web2")}
    for window in windows.values():
        assert 0 < window["seconds"] < 60 and window["to_t"] > window["from_t"]
        assert window["observed"]["seconds_to_first_answer_on_target"] > 0

    by_kind = report["requests"]["by_kind"]
    assert all(by_kind[kind]["made"] > 10 for kind in ("page", "health", "media", "upload"))
    assert_no_upload_lost(report)
    assert {check["name"]: check["ok"] for check in report["checks"]}["every host ends on disk"]
    assert_no_failed_request(report)
    assert re.search(r"rehearsal \S+ of sandbox: PASSED", result.stdout)
    assert report["passed"] and result.returncode == 0


def test_a_reload_failing_on_web2_is_reported_with_the_undo_and_loses_no_upload(fresh, project_root):
    result, report, records = rehearse(project_root, "--fail-reload-on=web2")

    [cutover] = report["phases"]  # undone: nothing to roll back
    assert cutover["failed_step"] == "reload the sites"
    assert "injected reload failure" in cutover["result"]
    assert {"undo reload the sites", "undo flip USE_S3 = True"} <= set(cutover["undone"])
    assert cutover["undo_failed"] == [] and 0 < cutover["undone_seconds"] < 60
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["cutover fails at the injected fault and is undone"]["ok"]
    assert checks["every host ends on disk"]["ok"], checks["every host ends on disk"]["detail"]
    assert report["rehearsal"]["fault"] == "the reload command fails on web2"
    assert "stopped the cutover at 'reload the sites' and it was undone (expected" in result.stdout
    # web1 served from S3 while web2's reload hung, so uploads went to the bucket only; the undo brought them down.
    [undo] = [step for step in cutover["steps"] if step["name"] == "undo reload the sites"]
    carried = [int(count) for count in re.findall(r"reload back: \d+ [^\n]*?, (\d+) downloaded", undo["summary"])]
    assert sum(carried) > 0, undo["summary"]
    assert_no_upload_lost(report)
    # Fetches of those files through web2 (on disk) before the undo brought them down may 404; nothing else fails.
    assert checks["no failed request but those the fault explains"]["ok"], report["requests"]["failure_samples"]
    assert report["passed"] and result.returncode == 0
