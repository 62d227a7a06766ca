"""Preflight: everything the cutover or the rollback needs, checked before anything changes.

Each check raises PreflightError (or RemoteError) naming the host, path or key.
Host problems are collected across all hosts, so one run shows them all.  This module
holds the media host and its lock, the room for a download, the bucket, the sites'
storage, reloads, health and thumbnails, the checks of the flows that need the sites
on S3, and the two lists (BEFORE_CUTOVER, BEFORE_ROLLBACK); the hosts' and their
settings files' checks are in ``deploy.flows.preflight_hosts``.
"""

from __future__ import annotations

from functools import partial

from ..config.paths import shell_path
from ..engine.counts import RoomCounts, SorlCostCounts
from ..engine.lock import describe, lock_path, read_lock
from ..engine.runner import Step
from ..errors import PreflightError
from ..media import manifest, space
from ..remote.ssh import run as remote_run
from ..site.facts import packages
from ..site.ops import storage
from ..site.facts import thumbnail_plan
from ..site.facts import thumbnails
from ..site.facts.storage import problems_on_s3
from ..site.ops.health import health_problem
from ..store.probe import check_readable, probe
from ..sync.commands import upload_command
from .content import report_content_urls
from .preflight_hosts import check_hosts, check_hosts_reachable
from .state import FlowRun, disk_media, health_settings


def check_media_host(run: FlowRun) -> str:
    holder = check_media_host_and_lock(run)
    settings = run.settings
    files, size, problems = manifest.scan(run)
    run.state.passes.unreadable = manifest.unreadable(problems)
    run.state.passes.scanned = (files, size)
    upload_command(settings, "-", run.state.passes.unreadable)  # refuses a tool that cannot leave them out
    return (f"{settings.media_host}: {settings.media_root} holds {files} files ({size / 1e6:.1f} MB)"
            + (f", {len(problems)} unreadable (left out)" if problems else "")
            + ("; lock free" if holder is None else ""))


def check_media_host_and_lock(run: FlowRun) -> dict | None:
    """Python 3.8+ on the media host, MEDIA_ROOT a directory, the lock free (or broken by --break-lock):
    the lock's holder, or None.  The tree itself is read by the caller (a scan, or reclaim's snapshot)."""
    settings = run.settings
    connection = run.media_connection
    remote_run(connection, f"{shell_path(settings.remote_python)} -c 'import sys; assert sys.version_info >= (3, 8)'",
               f"checking REMOTE_PYTHON={settings.remote_python} (Python 3.8+ on the media host)")
    if not connection.run(f"test -d {shell_path(settings.media_root)}", warn=True, hide=True, in_stream=False).ok:
        raise PreflightError(f"{settings.media_host}: MEDIA_ROOT {settings.media_root} is not a directory; "
                             "fix MEDIA_ROOT in the environment's config")
    holder = read_lock(connection, settings)
    if holder is not None and run.options.break_lock:
        run.say(f"    the lock held by {describe(holder)} will be broken (--break-lock)")
    elif holder is not None:
        raise PreflightError(f"{settings.media_host}: environment {settings.env!r} is locked by {describe(holder)} "
                             f"at {lock_path(settings)}; if that run is dead, re-run with --break-lock")
    return holder


def check_room_for_download(run: FlowRun) -> str:
    """The rollback's: the media filesystem has room for what the download brings (every object the disk
    lacks, and the bucket's copy of each file whose size differs: the old one is moved aside, not deleted),
    with a margin (``deploy.media.space``); one line naming host, directory, needed and free if not."""
    settings = run.settings
    report, _ = manifest.compare_tree(run, run.state.passes)
    files = report.extra.count + report.size_mismatch.count
    size = report.extra_bytes + report.size_mismatch_bytes
    _, free = manifest.filesystem(run)
    problem = space.room_problem(settings.media_host, settings.media_root, files, size, free)
    run.journal.record(RoomCounts(files=files, bytes=size, needed=space.needed(files, size), free=free))
    if problem:
        raise PreflightError(problem)
    return (f"{settings.media_host}: {files:,} files ({space.human(size)}) to download into {settings.media_root}, "
            f"{space.human(free)} free there: room enough")


def check_bucket_readable(run: FlowRun) -> str:
    """The rollback's: it only reads from the bucket."""
    check_readable(run.settings, run.faults)
    return f"bucket {run.settings.bucket} readable"


def check_bucket(run: FlowRun) -> str:
    """The deploy key can list, put, get and delete under the prefix; anyone may GET (PUBLIC_MEDIA=true); the
    custom domain (MEDIA_CUSTOM_DOMAIN) serves the object just put.  A dry run only lists."""
    settings, domain = run.settings, run.settings.custom_domain
    if settings.private_cache_problem:  # every object uploaded would carry it
        raise PreflightError(settings.private_cache_problem)
    if run.options.dry_run:
        check_readable(settings, run.faults)
        would = f"; {domain} not checked, a run checks it serves the bucket" if domain else ""
        return f"bucket {settings.bucket} readable (dry run: no probe object written{would})"
    key = f"{settings.media_prefix}/.media-cutover-probe-{run.run_id}"
    probe(settings, key, check_public=settings.public_media, faults=run.faults)
    public = ", anonymous GET allowed" if settings.public_media else ""
    served = f", served through {domain}" if domain else ""
    return f"bucket {settings.bucket}: put/get/delete under {settings.media_prefix}/ work{public}{served}"


def check_storage_selected(run: FlowRun, sorl_cost: bool = False, site_packages: bool = False) -> str:
    """Every host with MANAGE_PY and SITE_PYTHON: what its settings select now (the storage check after the
    switch compares with it), one summary line a host; the others skipped, and said.  The same start-up
    reads the thumbnail libraries (and, with ``sorl_cost``, what sorl-thumbnail's first views would cost
    after a switch): ``check_thumbnails`` judges that; and the site's packages, which, with
    ``site_packages`` (the cutover), must let it use S3 (``deploy.site.facts.packages``: every host's problems
    in one PreflightError)."""
    aliases = storage.probed(run)
    skipped = [alias for alias in run.aliases if alias not in aliases]
    before = run.state.switch.storage_before = storage.probe_sites(run, aliases, sorl_cost=sorl_cost)
    lines = [report.summary() for report in before.values()]
    if site_packages:
        reports, found = [], []
        for alias, report in before.items():
            try:
                reports.append(packages.from_data(report.packages, alias))
            except PreflightError as error:
                found.append(str(error))
        found += [problem for report in reports for problem in packages.problems(report)]
        if found:
            raise PreflightError("\n".join(found))
        lines.append("site packages: " + "; ".join(packages.versions(report) for report in reports))
    if skipped:
        lines.append(f"not probed: {', '.join(skipped)} (no MANAGE_PY and SITE_PYTHON)")
    return "\n".join(lines)


def check_reloads_reload(run: FlowRun) -> str:
    """Every host whose RELOAD_COMMAND is a HUP read from a pidfile: its gunicorn would load the new
    settings (no --preload; an env-file switch not in the master's environment).  Hosts whose master
    cannot be read are not judged, and said."""
    pidfiles = storage.hup_pidfiles(run)
    facts = dict(zip(pidfiles, run.on_every_host(storage.read_reload_facts, list(pidfiles))))
    found = [problem for alias, seen in facts.items() for problem in storage.reload_problems(run, alias, seen)]
    if found:
        raise PreflightError("\n".join(found))
    lines = [f"{alias}: gunicorn pid {seen['pid']} reloads on HUP (no --preload"
             + ("" if seen.get("config_read", True) else "; its config file could not be read, not judged") + ")"
             for alias, seen in facts.items() if seen.get("pid") is not None]
    lines += [f"{alias}: gunicorn's master not read from {pidfiles[alias]}, not judged ({seen.get('error')})"
              for alias, seen in facts.items() if seen.get("pid") is None]
    others = [alias for alias in run.aliases if alias not in pidfiles]
    if others:
        lines.append(f"{', '.join(others)}: RELOAD_COMMAND is no HUP read from a pidfile, not judged")
    return "\n".join(lines)


def check_health_source(run: FlowRun) -> str:
    """Every host's health answers and shows a storage (its health URL, or its check pages with media URLs):
    a configuration problem is named here, before anything changes, not by a health wait that times out
    after the switch (deploy.site.ops.health).  The pages' media URLs on disk are those under the site's own
    MEDIA_URL, which the settings probe (STORAGE_BEFORE_STEP, before this step) read, or DISK_MEDIA_URL."""
    settings = health_settings(run)
    problems = [problem for host in run.targets if (problem := health_problem(settings, host))]
    if problems:
        raise PreflightError("\n".join(problems))
    media_url, source = disk_media(run)
    return "\n".join([f"{host.alias}: health from {host.health_url or ', '.join(host.media_check_paths)}"
                      for host in run.targets] + [f"media on disk under {media_url} ({source})"])


def check_thumbnails(run: FlowRun, cutover: bool) -> str:
    """The thumbnail libraries of the media host's site (one database for every host), as the storage
    probe saw them: what they use and hold, and for the cutover whether they follow the media (refused,
    nothing changed, if not) and what sorl-thumbnail's first views will cost (refused unless accepted)."""
    alias = run.settings.media_host
    probed = run.state.switch.storage_before.get(alias)
    if probed is None or probed.thumbnails is None:
        return f"{alias}: not probed (no MANAGE_PY and SITE_PYTHON): thumbnail libraries not looked at"
    try:
        report = thumbnails.report_of(probed.thumbnails, alias)
    except PreflightError as error:
        if cutover:
            raise
        return f"{error}: the rollback goes on, easy_thumbnails' rows are left as they are"  # disk reads file times
    lines = thumbnail_plan.summary_lines(report)
    if not cutover:
        return "\n".join(lines)
    found = thumbnail_plan.problems(report, storage.media_root_real_path(run))
    if found:
        raise PreflightError("\n".join(found))
    if "sorl_cost" in probed.thumbnails:
        cost = thumbnails.sorl_cost_of(probed.thumbnails["sorl_cost"], alias)
        run.journal.record(SorlCostCounts(regenerate=cost.regenerate, sources=cost.sources, requests=cost.requests,
                                          dead=cost.dead_count, dead_sample=cost.dead_sample,
                                          orphaned_rows=cost.orphaned_rows))
        refused = thumbnail_plan.sorl_cost_problem(cost, run.options.accept_thumbnail_regeneration)
        if refused:
            raise PreflightError(refused)
        lines += thumbnail_plan.sorl_cost_lines(cost)
    return "\n".join(lines)


# --- the flows that need the sites on S3 (reclaim, rewrite-urls) ------------------------------

def check_on_s3(run: FlowRun, mirror_refused: bool, wanted: str) -> str:
    """Every host's switch is on (and, ``mirror_refused``, its mirror off: the sites write to the bucket
    only); ``wanted``: why the flow needs it, said to a host on disk."""
    settings, problems, hosts = run.settings, [], run.state.switch.hosts
    for alias, facts in hosts.items():
        if not facts.original_use_s3:
            problems.append(f"{alias}: {settings.switch_name} is off: the site serves media from disk; {wanted} "
                            f"(`invoke cutover --env={settings.env}`)")
        elif facts.original_mirror and mirror_refused:
            problems.append(f"{alias}: {settings.mirror_switch_name} is on: the site still writes every upload "
                            f"to the disk too; end the soak with `invoke finalize --env={settings.env}` first")
    if problems:
        raise PreflightError("\n".join(problems))
    return f"every host serves from S3{', no mirror on' if mirror_refused else ''} ({', '.join(hosts)})"


def check_serving_s3(run: FlowRun, mirror_refused: bool) -> str:
    """What each probed site's settings select is this bucket and prefix (the switch alone may lie); a mirror's
    primary is what serves (refused outright with ``mirror_refused``)."""
    settings, reports = run.settings, run.state.switch.storage_before
    found = [problem for report in reports.values()
             for problem in problems_on_s3(report, settings.bucket, settings.media_prefix, settings.endpoint_url, None,
                                           public_media=settings.public_media, custom_domain=settings.custom_domain,
                                           media_base_url=settings.media_base_url)]
    if mirror_refused:
        found += [f"{alias}: the site's default storage is a mirror: end the soak with `invoke finalize` first"
                  for alias, report in reports.items() if report.mirror is not None]
    if found:
        raise PreflightError("\n".join(found))
    return f"the storage probe says S3 on {', '.join(reports) or 'no host (none probed)'}"


# --- what each direction checks before it changes anything ---------------------------------

STORAGE_BEFORE_STEP = "preflight: what the sites' settings select"
HEALTH_SOURCE_STEP = "preflight: the sites' health answers"
THUMBNAILS_STEP = "preflight: the sites' thumbnails"
RELOADS_STEP = "preflight: the reloads load new settings"
CONTENT_STEP = "preflight: old media URLs in the content"

BEFORE_CUTOVER = [
    Step("preflight: hosts and settings files", check_hosts),
    Step("preflight: media host and lock", check_media_host),
    Step("preflight: bucket and credentials", check_bucket),
    # the same start-up: the sites can use S3 (Django, django-storages, boto3); and their MEDIA_URL
    Step(STORAGE_BEFORE_STEP, partial(check_storage_selected, sorl_cost=True, site_packages=True)),
    Step(HEALTH_SOURCE_STEP, check_health_source),  # reads the pages by the MEDIA_URL the probe read
    Step(THUMBNAILS_STEP, partial(check_thumbnails, cutover=True)),
    Step(RELOADS_STEP, check_reloads_reload),
    Step(CONTENT_STEP, report_content_urls),   # a report line: never a refusal
]

BEFORE_ROLLBACK = [  # it reads from the bucket only, and leaves a host it cannot reach alone
    Step("preflight: hosts and settings files", check_hosts_reachable),
    Step("preflight: media host and lock", check_media_host),
    Step("preflight: bucket", check_bucket_readable),
    Step("preflight: room on the media disk for the download", check_room_for_download),
    Step(STORAGE_BEFORE_STEP, check_storage_selected),
    Step(THUMBNAILS_STEP, partial(check_thumbnails, cutover=False)),
    Step(RELOADS_STEP, check_reloads_reload),
]
