"""The staging rehearsal: preflight, cutover and rollback under live traffic, measured and reported.

    traffic starts (page reads, media fetches, uploads on every host) -> cutover ->
    hold on S3 -> rollback (skipped with --keep, or when the cutover failed and was
    undone) -> traffic stops -> every answered upload checked through every host ->
    report under runs/rehearsal-<run id>/ (report.json, report.md, timeline.png)

The cutover and the rollback run in-process, exactly as `invoke cutover` and
`invoke rollback` run them; their journals give the steps' times.  Exit codes:
PASSED (0) every check passed, including "the injected failure happened and was
undone" with --fail-reload-on; ERROR (1) nothing ran (refused or misconfigured,
through deploy.cli.operator_errors); FAILED (2) it ran and a check failed: an
upload was lost, a request failed, a step failed unexpectedly, or (PUBLIC_MEDIA=false)
a signed media URL asked for without its signature was answered 200.

A signed media URL is a bearer token: the records keep URLs without their query and
every file under runs/ is redacted (``deploy.config.redact``).

Here the run itself and the files it writes; its parts: the traffic (``traffic``, ``fetching``), the
uploads' check (``uploads``), the checks and the verdict (``checks``), the report (``report``,
``report_markdown``, ``timeline``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Callable, Mapping

from ..config.keys import host_key
from ..config.load import load, load_settings
from ..config.types import Settings
from ..engine.journal import new_run_id, read_run
from ..engine.run import Options
from ..errors import ConfigError, MediaCutoverError
from ..flows import cutover as cutover_flow, rollback as rollback_flow
from ..flows.cutover import run_cutover
from ..flows.direction import TO_DISK, TO_S3
from ..flows.rollback import run_rollback
from ..config.redact import redact
from . import thumbnail_views
from .checks import rehearsal_checks, verdict
from .report import PhaseNames, build_report, phase_from_journal
from .report_markdown import render_markdown
from .thumbnail_views import FirstViews, thumbnail_checks
from ..site.facts.health import USUAL_MEDIA_URL
from .fetching import Site, records_as_dicts
from .traffic import Traffic
from .uploads import check_uploads

# What --fail-reload-on puts in the host's RELOAD_COMMAND__<HOST> override.  It fails
# after a while, as a reload that times out does: the hosts reloaded before it serve
# from S3 meanwhile and take uploads there, which the undo must bring back to disk.
INJECTED_RELOAD_FAILURE = "sleep 3; echo 'rehearsal: injected reload failure' >&2; exit 3"


class RehearsalExit(IntEnum):
    PASSED = 0
    ERROR = 1
    FAILED = 2


@dataclass(frozen=True)
class RehearsalOptions:
    keep: bool = False                 # stay on S3 at the end
    force_production: bool = False
    fail_reload_on: str | None = None  # host alias whose reload command fails
    upload_rate: float = 5.0           # uploads per second over all hosts
    readers_per_host: int = 2
    hold: float = 3.0                  # seconds of traffic before, between and after the phases
    max_seconds: float = 900.0         # the traffic stops by itself after this
    checksum: bool = False
    accept_thumbnail_regeneration: bool = False  # the cutover's flag (sorl-thumbnail's cost, stated in preflight)
    changeover: str | None = None      # CHANGEOVER for this rehearsal (copy or mirror); None: the config's


@dataclass(frozen=True)
class Outcome:
    report: dict
    directory: Path
    summary: str
    exit_code: RehearsalExit


# The steps the report times the change-over from, by the names the sequences export.
CUTOVER_NAMES = PhaseNames("cutover", cutover_flow.SWITCH_STEP, TO_S3.storage)
ROLLBACK_NAMES = PhaseNames("rollback", rollback_flow.SWITCH_STEP, TO_DISK.storage)


def load_rehearsal_settings(env: str | None, project_root: Path, options: RehearsalOptions,
                            environ: Mapping[str, str] | None = None) -> Settings:
    """The environment's settings, refused if PRODUCTION=true, with the injected fault if asked for."""
    environ = dict(os.environ if environ is None else environ)
    settings = load(env, project_root, environ)
    if settings.production and not options.force_production:
        where = settings.effective.get("PRODUCTION", ("", f"config/{env}.env"))[1]
        raise ConfigError(f"environment {env} has PRODUCTION=true ({where}): a rehearsal cuts it over "
                          "and back under test traffic and uploads test files; refused "
                          "(rehearse on staging, or pass --force-production if you really mean it)")
    if options.changeover:
        environ["CHANGEOVER"] = options.changeover  # checked as the config's own value is
    if options.fail_reload_on:
        settings.host(options.fail_reload_on)  # an unknown alias is a ConfigError naming the hosts
        environ[host_key("RELOAD_COMMAND", options.fail_reload_on)] = INJECTED_RELOAD_FAILURE
    if options.changeover or options.fail_reload_on:
        settings = load_settings(env, project_root, environ)
    return settings


def run_rehearsal(settings: Settings, options: RehearsalOptions, say: Callable[[str], None]) -> Outcome:
    run_id = new_run_id()
    directory = settings.project_root / "runs" / f"rehearsal-{run_id}"
    directory.mkdir(parents=True)
    # A site without a health URL is read through its check pages (MEDIA_CHECK_PATHS), shape (b)'s way.
    sites = [Site(host.alias, host.site_url, host.health_url, tuple(host.site_url + path for path in
                                                                    host.media_check_paths))
             for host in settings.hosts]
    traffic = Traffic(sites, settings.media_base_url, options.upload_rate, options.readers_per_host,
                      options.max_seconds, tag=f"rehearsal {run_id}",
                      disk_media_url=settings.disk_media_url or USUAL_MEDIA_URL, public_media=settings.public_media)
    say(f"rehearsal {run_id} of {settings.env} ({', '.join(settings.host_aliases)}), CHANGEOVER="
        f"{settings.changeover}: traffic on every site, {options.upload_rate:g} uploads/s" + (f", reload failing on {options.fail_reload_on}"
                                                 if options.fail_reload_on else ""))
    traffic.baseline()
    origin = time.time()
    traffic.start()
    phases, views = [], []
    try:
        time.sleep(options.hold)
        phases.append(_run_phase(CUTOVER_NAMES, run_cutover, settings, options, say, origin))
        views += _first_views(settings, phases[-1], traffic, run_id, say)
        if phases[0]["result"] == "ok" and not options.keep:
            time.sleep(options.hold)
            phases.append(_run_phase(ROLLBACK_NAMES, run_rollback, settings, options, say, origin))
            views += _first_views(settings, phases[-1], traffic, run_id, say)
        time.sleep(options.hold)
    finally:
        traffic.stop()
    ended = time.time()
    say("==> checking every answered upload through every host")
    uploads = check_uploads(sites, traffic.uploads, settings.media_base_url, public_media=settings.public_media)
    attempts = [record for record in traffic.records if record.kind == "upload"]
    uploads.update(made=len(attempts), answered=len(traffic.uploads))
    meta = {"run_id": run_id, "env": settings.env, "hosts": list(settings.host_aliases),
            "public_media": settings.public_media, "started": origin,
            "seconds": round(ended - origin, 3), "options": asdict(options),
            "fault": f"the reload command fails on {options.fail_reload_on}" if options.fail_reload_on else None}
    checks = rehearsal_checks(settings, options, phases, traffic, uploads, ended - origin, origin) \
        + thumbnail_checks(views)
    report = build_report(meta, phases, traffic.records, uploads,
                          {"known": len(traffic.known) - len(traffic.uploads), "missing_before":
                           len(traffic.missing_before)}, checks, origin,
                          {upload.name: upload.time for upload in traffic.uploads})
    report["thumbnails"] = [asdict(view) for view in views]
    passed = report["passed"]
    meta["summary"] = verdict(options, phases, report)
    meta["exit_code"] = int(RehearsalExit.PASSED if passed else RehearsalExit.FAILED)
    _write(directory, report, traffic, origin)
    summary = _summary(report, directory, settings.project_root)
    return Outcome(report, directory, summary, RehearsalExit(meta["exit_code"]))


def _run_phase(names: PhaseNames, function, settings: Settings, options: RehearsalOptions, say, origin) -> dict:
    begin = time.time()
    try:
        function(settings, Options(checksum=options.checksum,
                                   accept_thumbnail_regeneration=options.accept_thumbnail_regeneration), say)
    except MediaCutoverError as error:
        say(f"{names.phase} failed: {error}")
    return phase_from_journal(names, _journal_events(settings, names.phase, begin), origin)


def _first_views(settings: Settings, phase: dict, traffic: Traffic, run_id: str, say) -> list[FirstViews]:
    """The thumbnail pages viewed once after a phase that changed storage (THUMBNAIL_PAGES), counted."""
    if phase["result"] != "ok" or not thumbnail_views.configured(settings):
        return []
    seen = thumbnail_views.first_views(settings, phase["phase"], lambda: {upload.name for upload in traffic.uploads},
                                       run_id)
    say(f"==> thumbnails on the first views after the {phase['phase']}\n    {seen.summary()}")
    return [seen]


def _journal_events(settings: Settings, kind: str, since: float) -> list[dict]:
    """This process's newest journal of ``kind`` started after ``since`` (others may run on the env too)."""
    for path in sorted((settings.project_root / "runs").glob(f"*-{settings.env}-{kind}.jsonl"), reverse=True):
        events = read_run(path)
        if events and events[0].get("pid") == os.getpid() and events[0]["time"] >= since - 1:
            return events
    return []


def _write(directory: Path, report: dict, traffic: Traffic, origin: float) -> None:
    from .timeline import draw_timeline  # matplotlib loads only when a report is drawn

    draw_timeline(report, traffic.records, origin, directory / "timeline.png")
    report["files"] = {"markdown": "report.md", "timeline": "timeline.png", "requests": "requests.jsonl"}
    (directory / "report.json").write_text(redact(json.dumps(report, indent=2, default=str)) + "\n",
                                           encoding="utf-8")
    (directory / "report.md").write_text(redact(render_markdown(report, "timeline.png")), encoding="utf-8")
    with open(directory / "requests.jsonl", "w", encoding="utf-8") as raw:
        for record in records_as_dicts(traffic.records):
            raw.write(redact(json.dumps({**record, "t": round(record["time"] - origin, 4)})) + "\n")


def _summary(report: dict, directory: Path, root: Path) -> str:
    meta = report["rehearsal"]
    lines = [f"rehearsal {meta['run_id']} of {meta['env']}: {'PASSED' if report['passed'] else 'FAILED'}",
             f"  {meta['summary']}"]
    for phase in report["phases"]:
        windows = ", ".join(f"{w['host']} {w['seconds']:.1f} s" for w in report["windows"]
                            if w["phase"] == phase["phase"] and w["seconds"] is not None)
        took = (phase["end"] or 0) - (phase["start"] or 0)
        result = "ok" if phase["result"] == "ok" else f"failed at '{phase['failed_step']}'" \
            + (f" and undone (hosts back as they were {phase['undone_seconds']:.1f} s after the flip)"
               if phase["undone_seconds"] is not None else "")
        lines.append(f"  {phase['phase']:<9} {result}, {took:.1f} s in all, {phase.get('mode', 'copy')} mode, "
                     f"{phase.get('files_moved', 0)} files copied" + (f"; change-over {windows}" if windows else "")
                     + (f"; {faults} store faults retried" if (faults := phase.get("store_faults", {}).get("retried"))
                        else ""))
    for check in report["checks"]:
        lines.append(f"  [{'ok' if check['ok'] else 'FAILED'}] {check['name']}: {check['detail']}")
    lines.append(f"  report: {directory.relative_to(root)}/report.md (report.json, timeline.png)")
    return "\n".join(lines)
