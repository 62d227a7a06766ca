"""A rehearsal's verdict: the checks its report lists, from the phases, the traffic and the uploads, and
the one-line summary of how it went.

``rehearsal_checks`` judges the run: the cutover (or, with --fail-reload-on, that the injected reload
failure stopped it and it was undone), the rollback, every host back on the storage expected, no upload
lost, no failed request (but those the fault explains), no anonymous success with private media, media
URLs fetched and checked, traffic over the whole rehearsal.  ``verdict`` says it in one sentence.
"""

from __future__ import annotations

from collections import Counter

from ..flows.steps import RELOAD
from .report import anonymous, split_by_fault

RELOAD_STEP = RELOAD.name


def _check(name: str, ok: bool, detail: str) -> dict:
    return {"name": name, "ok": bool(ok), "detail": detail}


def rehearsal_checks(settings, options, phases, traffic, uploads, seconds, origin) -> list[dict]:
    cutover = phases[0]
    if options.fail_reload_on:
        undo = ", ".join(cutover["undone"]) or "-"
        checks = [_check("cutover fails at the injected fault and is undone",
                         cutover["failed_step"] == RELOAD_STEP and cutover["undone"] and not cutover["undo_failed"],
                         f"failed at '{cutover['failed_step']}', undone: {undo}"
                         + (f", UNDO FAILED: {', '.join(cutover['undo_failed'])}" if cutover["undo_failed"] else ""))]
    else:
        checks = [_check("cutover", cutover["result"] == "ok", cutover["result"])]
    if len(phases) > 1:
        checks.append(_check("rollback", phases[1]["result"] == "ok", phases[1]["result"]))
    if len(phases) > 1 and phases[1].get("mode") == "mirror":
        rollback = phases[1]
        checks.append(_check("the mirror rollback moves only what failed writes missed",
                             rollback["files_moved"] <= rollback["mirror_failures"],
                             f"{rollback['files_moved']} files downloaded, {rollback['mirror_failures']} failed "
                             "writes to the second storage recorded"))

    expected = "s3" if cutover["result"] == "ok" and len(phases) == 1 else "disk"
    seen = {site.alias: traffic.storage_now(site) for site in traffic.sites}
    checks.append(_check(f"every host ends on {expected}", all(value == expected for value in seen.values()),
                         ", ".join(f"{alias} {value}" for alias, value in seen.items())))

    checks.append(_check("no upload lost", uploads["lost"] == 0 and (uploads["checked"] or options.upload_rate <= 0),
                         f"{uploads['checked']} answered uploads checked through every host, {uploads['lost']} lost"))
    checks.append(_requests_check(options, cutover, traffic, origin))
    checks += _anonymous_check(settings.public_media, traffic.records)
    media = sum(1 for record in traffic.records if record.kind == "media")
    checks.append(_check("media URLs fetched and checked", media > 0,
                         f"{media} fetched as rendered, checked for status, size and SHA-256"))
    checks.append(_check("traffic covered the whole rehearsal", seconds < options.max_seconds,
                         f"{seconds:.0f} s of at most {options.max_seconds:.0f} s"))
    return checks


def _anonymous_check(public_media: bool, records) -> list[dict]:
    """Private media: no signed media URL asked for without its signature may be answered 200 (none to check
    on a public site)."""
    if public_media:
        return []
    unsigned = anonymous(records)
    return [_check("no anonymous success", unsigned["successes"] == 0,
                   f"signed media URLs asked for without their signature {unsigned['tried']} times; "
                   f"anonymous successes: {unsigned['successes']}")]


def _requests_check(options, cutover, traffic, origin) -> dict:
    """No request may fail; with an injected fault, only fetches of files the split hosts held apart."""
    explained, rest = [], [record for record in traffic.records if record.error]
    if options.fail_reload_on:
        explained, rest = split_by_fault(traffic.records, cutover, {u.name: u.time for u in traffic.uploads}, origin)
    failed = Counter(record.kind for record in rest)
    by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(failed.items()))
    detail = f"{len(traffic.records)} made, {len(rest) + len(explained)} failed" + (f" ({by_kind})" if by_kind else "")
    if not options.fail_reload_on:
        return _check("no failed request", not rest, detail)
    return _check("no failed request but those the fault explains", not rest,
                  f"{detail}; {len(explained)} of them fetches of files uploaded while the failed reload left the "
                  "hosts split between S3 and disk, before the undo brought them across")


def verdict(options, phases, report) -> str:
    cutover = phases[0]
    if options.fail_reload_on:
        first = (f"the injected reload failure on {options.fail_reload_on} stopped the cutover at "
                 f"'{cutover['failed_step']}' and it was undone (expected; no rollback needed)"
                 if cutover["failed_step"] == RELOAD_STEP and cutover["undone"] else
                 f"the injected reload failure did NOT play out as expected: {cutover['result']}")
    else:
        first = f"cutover {cutover['result']}" + (f", rollback {phases[1]['result']}" if len(phases) > 1
                                                  else " (left on S3: --keep)" if options.keep else "")
    requests, uploads = report["requests"], report["uploads"]
    private = f"; anonymous successes: {requests['anonymous']['successes']}" if "anonymous" in requests else ""
    return (f"{first}; {requests['made']} requests, {requests['failed']} failed{private}; "
            f"{uploads['answered']} uploads, {uploads['lost']} lost")
