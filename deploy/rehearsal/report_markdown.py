"""A rehearsal's report as a page for people: ``render_markdown`` turns what ``build_report``
(``deploy.rehearsal.report``) computed into report.md, section by section (checks, thumbnails, steps,
change-over windows, files synced, store faults retried, requests, uploads).

Plain data in, text out: nothing here touches the network or the hosts, so all of it is unit-tested.
"""

from __future__ import annotations

from ..config.redact import redact
from ..retry import kinds_said


def _count(value) -> str:
    return "-" if value is None else str(value)


def render_markdown(report: dict, picture: str | None) -> str:
    meta, requests, uploads = report["rehearsal"], report["requests"], report["uploads"]
    lines = [f"# Rehearsal {meta['run_id']} on `{meta['env']}`", "",
             f"**{'PASSED' if report['passed'] else 'FAILED'}** — {meta['summary']}", "",
             f"Hosts {', '.join(meta['hosts'])}; {meta['seconds']:.1f} s in all; upload rate "
             f"{meta['options']['upload_rate']}/s; " + (f"fault injected: {meta['fault']}; " if meta["fault"] else "")
             + ("environment left on S3 (--keep)." if meta["options"]["keep"] else "rolled back at the end."), ""]
    if picture:
        lines += [f"![timeline of the steps, request latency and errors]({picture})", ""]
    lines += ["## Checks", "", _table(("check", "result", "detail"),
                                       [(c["name"], "ok" if c["ok"] else "FAILED", c["detail"])
                                        for c in report["checks"]]), ""]
    if report.get("thumbnails"):
        lines += ["## Thumbnails on the first views", "",
                  "After each change-over every host's THUMBNAIL_PAGES were viewed once: thumbnails each library made "
                  "again (rows the views added to its tables) and the objects they wrote to the bucket (PUT; HEADs "
                  "and GETs are not counted).", "",
                  _table(("after", "pages", "thumbnails linked", "failed", "easy_thumbnails made", "sorl-thumbnail made",
                          "bucket writes"),
                         [(v["phase"], v["pages"], v["linked"], len(v["failed"]), _count(v["easy_made"]),
                           _count(v["sorl_made"]), _count(v["bucket_writes"])) for v in report["thumbnails"]]), ""]
    lines += ["## Steps", "", "Each step acts on every host; its time covers all of them. Times in seconds "
              "since the rehearsal started.", ""]
    for phase in report["phases"]:
        lines += [f"### {phase['phase']} ({phase['run_id']}): {phase['result']}", "",
                  f"{phase.get('mode', 'copy')} mode; {phase.get('files_moved', 0)} files copied in all"
                  + (f"; {phase['mirror_failures']} failed writes to the mirror's second storage recorded"
                     if phase.get("mirror_failures") else ""), "",
                  _table(("step", "result", "start", "seconds"),
                         [(s["name"], s["result"], f"{s['start']:.1f}", f"{s['seconds']:.2f}")
                          for s in phase["steps"]]), ""]
        if phase["undone"] or phase["undo_failed"]:
            lines += [f"Failed step: **{phase['failed_step']}**; undone: {', '.join(phase['undone']) or 'nothing'}"
                      + (f"; UNDO FAILED: {', '.join(phase['undo_failed'])}" if phase["undo_failed"] else "")
                      + (f". From the flip ({phase['flip_t']:.1f} s) to the end of the undo every host was back "
                         f"as it was after {phase['undone_seconds']:.1f} s" if phase["undone_seconds"] else ""), ""]
    lines += ["## Change-over window per host", "",
              "From the start of the settings flip to the host confirmed healthy on the new storage by the "
              "health step; 'first answer' is the first /healthz answer in the new mode seen by the traffic.", "",
              _table(("phase", "host", "window s", "healthy after reload s", "first answer s"),
                     [(w["phase"], w["host"], _num(w["seconds"]), _num(w["seconds_to_healthy_after_reload"]),
                       _num(w["observed"].get("seconds_to_first_answer_on_target"))) for w in report["windows"]]), ""]
    lines += ["## Files synced and verified", "",
              _table(("phase", "step", "figures"),
                     [(row["phase"], row["step"], ", ".join(f"{key}={value}" for key, value in row.items()
                                                             if key not in ("phase", "step")))
                      for row in report["sync"]]), ""]
    lines += _store_fault_lines(report["phases"])
    lines += ["## Requests", "", f"{requests['made']} requests, {requests['failed']} failed.", "",
              _table(("kind", "made", "failed", "p50 ms", "p95 ms", "max ms", "failures by reason"),
                     [(kind, k["made"], k["failed"], k["p50_ms"], k["p95_ms"], k["max_ms"],
                       ", ".join(f"{reason}: {count}" for reason, count in k["reasons"].items()) or "-")
                      for kind, k in requests["by_kind"].items()]), ""]
    if "anonymous" in requests:
        lines += [f"Private media (PUBLIC_MEDIA=false): signed media URLs asked for without their signature "
                  f"{requests['anonymous']['tried']} times; anonymous successes: "
                  f"{requests['anonymous']['successes']} (answered 200; any fails the rehearsal).", ""]
    if requests["failed"]:
        lines += ["Failed requests by the step running at the time: " + _counts(requests["failed_during"]) + ".", ""]
    if requests["failed_fetches_of_files_uploaded_during"]:
        lines += ["Failed media fetches of files the traffic had uploaded, by the step running when they were "
                  "uploaded: " + _counts(requests["failed_fetches_of_files_uploaded_during"]) + ".", ""]
    if requests["failure_samples"]:
        lines += ["Samples (a few of each kind and step):", "", _table(
            ("t", "host", "kind", "error", "url", "during", "file uploaded at"),
            [(f"{s['t']:.2f}", s["host"], s["kind"], s["error"], s["url"], s["during"],
              f"{s['uploaded_t']:.2f} ({s['uploaded_during']})" if "uploaded_t" in s else "-")
             for s in requests["failure_samples"]]), ""]
    lines += ["## Uploads", "", f"{uploads['made']} uploads made, {uploads['answered']} answered 201, "
              f"{uploads['checked']} checked afterwards through every host, **{uploads['lost']} lost**.", ""]
    for sample in uploads["lost_samples"]:
        lines.append(f"- `{sample['name']}`: {redact('; '.join(sample['problems']))}")
    baseline = report["baseline"]
    lines += ["", f"Media fetches were checked against {baseline['known']} files fetched before the rehearsal "
              f"(size and SHA-256) and every upload; {baseline['missing_before']} listed files were already "
              "missing before it and were not fetched.", ""]
    return "\n".join(lines)


def _store_fault_lines(phases: list[dict]) -> list[str]:
    """The store faults each phase retried, step by step (a phase without any says so)."""
    rows = [(phase["phase"], step, kinds_said(kinds))
            for phase in phases for step, kinds in phase.get("store_faults", {}).get("by_step", {}).items()]
    lines = ["## Store faults retried", "",
             "Transient faults of the store (500, 502, 503, 504, SlowDown, resets, timeouts) retried by the run "
             "(deploy.retry): per step, by kind. rclone's own retries of a request are not in its output; the "
             "files it failed and that were sent again are.", ""]
    if not rows:
        return lines + ["None: the store answered every request the first time.", ""]
    totals = [f"{phase['phase']} {phase.get('store_faults', {}).get('retried', 0)}" for phase in phases]
    return lines + [_table(("phase", "step", "retried"), rows), "", f"In all: {', '.join(totals)}.", ""]


def _table(headers, rows) -> str:
    cells = [[str(value).replace("|", "\\|").replace("\n", " ") for value in row] for row in rows]
    return "\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                     + ["| " + " | ".join(row) + " |" for row in cells])


def _counts(counter: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items(), key=lambda item: -item[1]))


def _num(value) -> str:
    return "-" if value is None else f"{value:.2f}"
