"""`invoke status` (per host whether the switch is on, the last run and its result, the lock, the disk, the
content's old media URLs) and `fab hosts`.

The switch (SWITCH_NAME, USE_S3 by default) is read and shown as the host's file spells it, with the
file's format: ``USE_S3=false (env file)``, ``USE_S3 = True (Python file)``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..config.types import Settings
from ..engine.counts import ContentRewriteCounts, ContentUrlCounts, ReclaimCounts
from ..engine.journal import last_run, outcome, parse
from ..engine.lock import describe, read_lock
from ..errors import MediaCutoverError
from ..remote.ssh import connect, run
from ..site.ops import content_urls, switch
from ..text_table import counted


def host_rows(settings: Settings) -> list[tuple[str, str]]:
    rows = []
    for host in settings.hosts:
        try:
            with connect(settings, host.alias) as connection:
                data, found = switch.read_settings(connection, settings, host)
            mirror = switch.read_mirror(settings, host, data)
            rows.append((host.alias, f"{switch.describe(settings, host, found)}: media from "
                         + ("S3" if found.value else "disk")
                         + (f", mirrored to {'the disk' if found.value else 'the bucket'} "
                            f"({settings.mirror_switch_name} on: `invoke finalize` ends it)" if mirror else "")))
        except MediaCutoverError as error:
            rows.append((host.alias, f"unknown: {error}"))
    return rows


def describe_hosts(settings: Settings) -> list[tuple[str, str, str, str]]:
    """`fab hosts`: (host, remote user, settings path, the switch as the file has it) for every host."""
    rows = []
    for host in settings.hosts:
        with connect(settings, host.alias) as connection:
            user = run(connection, "id -un", "ssh login").strip()
            _, found = switch.read_settings(connection, settings, host)
            rows.append((host.alias, user, host.settings_path, switch.describe(settings, host, found)))
    return rows


def lock_line(settings: Settings) -> str:
    try:
        with connect(settings, settings.media_host) as connection:
            holder = read_lock(connection, settings)
    except MediaCutoverError as error:
        return f"unknown: {error}"
    return "free" if holder is None else f"HELD by {describe(holder)}"


def last_run_line(settings: Settings) -> str:
    events = last_run(settings.project_root / "runs", settings.env)
    if not events:
        return "none recorded"
    first = parse(events[0])
    return f"{first.kind} {first.run_id} at {_when(first.time)}: {outcome(events)}"


def disk_line(settings: Settings) -> str:
    """Whether a reclaim freed the disk: when, how many files and bytes, by which run; and whether a
    rollback since brought them back (the journals under runs/)."""
    runs = settings.project_root / "runs"
    reclaim = last_run(runs, settings.env, kinds=("reclaim",), where=_removed_files)
    if reclaim is None:
        return "not reclaimed: the disk holds every file (`invoke reclaim` frees it once the bucket holds them)"
    counts = next(entry.event for entry in map(parse, reclaim) if isinstance(entry.event, ReclaimCounts))
    first = parse(reclaim[0])
    line = (f"reclaimed at {_when(first.time)} by run {first.run_id}: {counts.removed:,} files, "
            f"{counts.removed_bytes / 1e6:,.1f} MB removed (record: {counts.record})")
    back = last_run(runs, settings.env, kinds=("rollback",), where=lambda events: outcome(events) == "ok")
    if back is not None and parse(back[0]).run_id > first.run_id:
        line += f"; rollback {parse(back[0]).run_id} at {_when(parse(back[0]).time)} brought them back"
    return line


def content_line(settings: Settings) -> str:
    """The content's old media URLs as the last find saw them (journaled by `invoke content-urls`, the
    cutover's and reclaim's preflights, rewrite-urls), and the rewrites not put back yet.  From the journal,
    not a live find: that costs a Django start-up and a scan of every text column, and status stays quick;
    the line says when and by which run they were counted."""
    env = settings.env
    runs = settings.project_root / "runs"
    found = last_run(runs, env, where=lambda events: any(isinstance(entry.event, ContentUrlCounts)
                                                         for entry in map(parse, events)))
    if found is None:
        line = f"not looked at: `invoke content-urls --env={env}` finds old media URLs in the content"
    else:
        entry = [entry for entry in map(parse, found) if isinstance(entry.event, ContentUrlCounts)][-1]
        counts = entry.event
        fields = sorted(counts.by_field.items(), key=lambda item: -item[1])
        named = ", ".join(f"{name} {urls}" for name, urls in fields[:3]) + (", ..." if len(fields) > 3 else "")
        what = (f"{counts.urls} old media URLs in {len(fields)} fields ({named})" if counts.urls
                else "no old media URL")
        line = f"{what}, as {entry.kind} {entry.run_id} found at {_when(entry.time)}"
    line += _put_back_since(runs, env, None if found is None else entry.time)
    pending = content_urls.pending_records(settings)
    if pending:
        line += (f"; {len(pending)} rewrite records not put back ({', '.join(path.name for path in pending)}): "
                 "a rollback puts them back")
    return line


def _net_put_back(events: list[dict]) -> int:
    """Rows a run put back (a rollback's restore) less those its undo wrote again."""
    sign = {"restore": 1, "rewrite again": -1}
    return sum(sign.get(entry.event.action, 0) * entry.event.rows for entry in map(parse, events)
               if isinstance(entry.event, ContentRewriteCounts))


def _put_back_since(runs, env: str, counted_at: float | None) -> str:
    """A rollback that put a rewrite's rows back after the last count: they hold old media URLs again, which
    that count did not see."""
    back = last_run(runs, env, where=lambda events: _net_put_back(events) > 0)
    if back is None:
        return ""
    restored = [entry for entry in map(parse, back) if isinstance(entry.event, ContentRewriteCounts)][-1]
    if counted_at is not None and restored.time < counted_at:
        return ""
    return (f"; since then {restored.kind} {restored.run_id} put {counted(_net_put_back(back), 'row')} back at "
            f"{_when(restored.time)}: they hold old media URLs again (`invoke content-urls --env={env}` counts them)")


def _removed_files(events: list[dict]) -> bool:
    return outcome(events) == "ok" and any(isinstance(entry.event, ReclaimCounts) and entry.event.removed
                                           for entry in map(parse, events))


def _when(time: float) -> str:
    return datetime.fromtimestamp(time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
