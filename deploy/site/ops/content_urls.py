"""Old media URLs in the site's content, over SSH: found, looked up in the bucket, rewritten and put back.

The adapter around ``deploy.site.facts.content_urls`` (the program's command lines and reports),
``deploy.site.edits.content_urls`` (the rewrite's plan) and ``deploy.site.edits.content_url_record`` (its
record and restore).  The database is shared by every host: each command runs once, on the content host (the
first of the run's hosts whose site can be run: MANAGE_PY and SITE_PYTHON), in the site's Python under its
settings module, its input on stdin.

The rewrite's record lives on the operator's machine, ``runs/<run id>-<env>-content-urls.record`` (mode
600, created once), fetched once from the program's own record on the content host (``host_record``: its
rows written before each model commits) by one ``cat``, streamed to the file and checked on the way (each
line a row; the rows, bytes and sha256 the program said it wrote); a sibling ``.restored`` marks one put
back, so that a second rollback takes it no more.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import botocore.exceptions

from ...config.paths import shell_path
from ...config.types import HostSettings, Settings
from ...engine.counts import ContentUrlCounts
from ...engine.run import Run
from ...errors import ConfigError, RemoteError, StoreUnavailable
from ...media.compare import object_key
from ...remote.ssh import output_chunks, run_with_input_to_end
from ...retry import gave_up, policy_of
from ...store.client import attempts_made, client_fault, s3_client
from ...store.listing import listing
from ..edits import content_url_record as record_edits
from ..edits import content_urls as edits
from ..edits.content_url_record import RestoreResult
from ..edits.content_urls import RewritePlan, RewriteResult, RowChange
from ..facts import content_urls as facts
from ..facts.content_urls import ContentReport, StorageUrls, UrlForms
from .storage import env_file_of

TIMEOUT = 1800            # every text field of every model read (or rewritten), one Django start-up
HEADS = 200               # up to this many names are looked up one by one; more: the prefix is listed once
RECORD_SUFFIX = "-content-urls.record"
RESTORED = ".restored"


# --- where, and what to look for ---------------------------------------------------------------------

def content_host(run: Run) -> HostSettings:
    """The host the content is read through: the first of the run's hosts with MANAGE_PY and SITE_PYTHON
    (one database for every host)."""
    for host in run.targets:
        if host.manage_py and host.site_python:
            return host
    raise ConfigError(f"no host of {run.settings.env} has MANAGE_PY and SITE_PYTHON: the site's content cannot be "
                      f"read; set them in config/{run.settings.env}.env")


def can_read(run: Run) -> bool:
    return any(host.manage_py and host.site_python for host in run.targets)


def forms_of(settings: Settings, media_url: str) -> UrlForms:
    """The forms of ``media_url`` (the disk's MEDIA_URL) on every host's SITE_URL and OLD_MEDIA_HOSTS."""
    return facts.url_forms(media_url, [host.site_url for host in settings.hosts if host.site_url],
                           settings.old_media_hosts)


# --- the program's commands ----------------------------------------------------------------------

def _program(run: Run, command: str, data: bytes, what: str) -> str:
    """Run one of the program's commands on the content host; its stdout (its report is the last line).  A
    failure without a report is a RemoteError with the program's last words."""
    host = content_host(run)
    result = run_with_input_to_end(run.connection(host.alias), command, data, what, timeout=TIMEOUT)
    if not result.ok and facts.MARKER not in result.stdout:
        detail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise RemoteError(f"{host.alias}: {what} failed (exit {result.exited}): {detail}")
    return result.stdout


def _switch(run: Run, host: HostSettings) -> tuple[str | None, str]:
    return env_file_of(host), run.settings.switch_name


def find(run: Run, forms: UrlForms, names_limit: int = facts.NAMES_LIMIT, media_root: bool = True,
         storage_urls: bool = False, chars: bool = False) -> ContentReport:
    """Every field holding old media URLs, with its counts and names (up to ``names_limit`` a field, 0:
    all), with ``storage_urls`` the URL the storage gives each name (``report.storage``), with ``chars`` the
    characters of each field's rows (``report.chars``); journaled (``ContentUrlCounts``: `invoke status` reads
    the last)."""
    host = content_host(run)
    command = facts.find_command(host, forms, run.settings.media_root if media_root else None, names_limit,
                                 *_switch(run, host), storage_urls=storage_urls, chars=chars)
    report = facts.parse_find(_program(run, command, b"", "looking for old media URLs in the content"),
                              host.alias, forms)
    run.journal.record(counts_of(report))
    return report


def counts_of(report: ContentReport) -> ContentUrlCounts:
    fields = report.url_fields
    return ContentUrlCounts(host=report.host, forms=report.forms.shown(), urls=sum(f.urls for f in fields),
                            rows=sum(f.rows for f in fields), by_field={f.field: f.urls for f in fields})


def storage_urls(run: Run, names: Iterable[str]) -> StorageUrls:
    """The URL the site's default storage gives each name now."""
    host = content_host(run)
    output = _program(run, facts.storage_urls_command(host, *_switch(run, host)), facts.storage_urls_input(names),
                      "asking the site's storage for its URLs")
    return facts.parse_storage_urls(output, host.alias)


def host_record(run: Run) -> str:
    """The program's own record of the rows, on the content host, written before each model commits: the
    rows are there even if the connection is lost before they reach this machine."""
    return f"{run.settings.tools_dir.rstrip('/')}/content-urls/{run.run_id}-{run.settings.env}.jsonl"


def dry_run(run: Run, forms: UrlForms, plan: RewritePlan, shown: int) -> RewriteResult:
    """The program's dry run of ``plan``: every row it would change, its key and hash only (``planned``: the
    rewrite's expected hashes), and the first ``shown`` whole (``rows``: the diffs)."""
    host = content_host(run)
    output = _program(run, facts.rewrite_command(host, forms, True, None, *_switch(run, host), shown=shown,
                                                 hashes=True),
                      edits.plan_input(plan), "rewriting old media URLs")
    return edits.parse_rewrite(output, host.alias)


@dataclass(frozen=True)
class Rewritten:
    """What the rewrite did: the program's result (None: a model failed, ``failed`` says why, and those
    before it committed), the record of the rows it changed on this machine (None: none), their count."""

    result: RewriteResult | None
    record: Path | None
    rows: int
    failed: str = ""


def rewrite(run: Run, forms: UrlForms, plan: RewritePlan, expected: dict[str, dict[str, str]]) -> Rewritten:
    """The rewrite, a row changed since the dry run (``expected``) skipped.  The program records the rows on
    the host (``host_record``) and prints only its counts; the record is then fetched (``fetch_record``),
    even when a later model failed (the rows of those that committed are in it)."""
    host = content_host(run)
    output = _program(run, facts.rewrite_command(host, forms, False, host_record(run), *_switch(run, host), shown=0),
                      edits.plan_input(plan, expected), "rewriting old media URLs")
    said = record_edits.record_report(output)
    record = fetch_record(run, forms, said) if said and said.get("rows") else None
    rows = said["rows"] if record is not None and said else 0
    try:
        return Rewritten(edits.parse_rewrite(output, host.alias), record, rows)
    except RemoteError as error:
        if record is None:
            raise
        return Rewritten(None, record, rows, str(error))


def fetch_record(run: Run, forms: UrlForms, said: dict | None = None) -> Path | None:
    """The program's record on the content host copied once (one ``cat``) to ``record_path`` (mode 600, created
    once), a header first, streamed as it comes and checked: each line a row, and, given the program's word
    (``said``), its rows, bytes and sha256.  None when the host holds no row of it (no file, or empty).  A
    failure leaves no file behind."""
    host = content_host(run)
    path = record_path(run)
    path.parent.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    remote = shell_path(host_record(run))
    check = record_edits.RecordCheck(host.alias, host_record(run))
    partial.unlink(missing_ok=True)   # an earlier fetch of this run's record that failed
    size = int((said or {}).get("bytes") or 0)
    if size and shutil.disk_usage(path.parent).free < size + (1 << 20):
        raise _no_room_here(host.alias, run, path, size)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as written:
            written.write(record_edits.record_header(run_id=run.run_id, env=run.settings.env,
                                              media_url=forms.media_url).encode("utf-8"))
            for chunk in output_chunks(run.connection(host.alias), f"if [ -e {remote} ]; then cat {remote}; fi",
                                       "fetching the rewrite's record"):
                check.feed(chunk)
                written.write(chunk)
            rows = check.finish(said)
            written.flush()
            os.fsync(written.fileno())
        if not rows:
            return None
        os.link(partial, path)   # created once: an existing record is never replaced
        return path
    except OSError as problem:   # the disk here filled while it came (the room step judged by an estimate)
        raise _no_room_here(host.alias, run, path, size, problem) from None
    finally:
        partial.unlink(missing_ok=True)


def _no_room_here(alias: str, run: Run, path: Path, size: int, problem: OSError | None = None) -> RemoteError:
    """The record could not be kept here: one line saying where it stays (the host's copy is whole)."""
    why = f"{problem.strerror or problem}" if problem else f"{shutil.disk_usage(path.parent).free:,} bytes free"
    return RemoteError(f"this machine: the rewrite's record ({size:,} bytes) could not be written to {path.parent} "
                       f"({why}); it stays whole on {alias} at {host_record(run)} (mode 600), and the rows it "
                       f"holds keep the bucket's URLs, which fetch: free some space in {path.parent}")


def restore(run: Run, rows: list[RowChange]) -> RestoreResult:
    """Each row's old value put back where it still holds what the rewrite wrote; the others named."""
    host = content_host(run)
    output = _program(run, facts.restore_command(host, *_switch(run, host)), record_edits.restore_input(rows),
                      "putting the content's old URLs back")
    return record_edits.parse_restore(output, host.alias)


# --- the bucket ------------------------------------------------------------------------------------

def in_bucket(run: Run, names: Iterable[str]) -> set[str]:
    """Which of ``names`` (media-relative) the bucket holds: a HEAD each for a few, else one listing."""
    names = set(names)
    settings = run.settings
    if len(names) > HEADS:
        start = len(object_key(settings.media_prefix, ""))
        return {entry.key[start:] for entry in listing(settings, faults=run.faults)} & names
    client = s3_client(settings, faults=run.faults)

    def held(name: str) -> bool:
        key = object_key(settings.media_prefix, name)
        try:
            client.head_object(Bucket=settings.bucket, Key=key)
            return True
        except botocore.exceptions.ClientError as error:
            fault = client_fault(error)
            if fault.transient:   # the store did not answer well: not a missing file
                raise StoreUnavailable(gave_up(f"looking up s3://{settings.bucket}/{key}", fault,
                                               attempts_made(error), None, {}, policy_of(settings))) from None
            return False
    ordered = sorted(names)
    with ThreadPoolExecutor(8, thread_name_prefix="content-heads") as pool:
        return {name for name, found in zip(ordered, pool.map(held, ordered)) if found}


# --- the record on the operator's machine ------------------------------------------------------------

def record_path(run: Run) -> Path:
    return run.settings.project_root / "runs" / f"{run.run_id}-{run.settings.env}{RECORD_SUFFIX}"


def write_record(run: Run, rows: list[RowChange], forms: UrlForms) -> Path:
    """``runs/<run id>-<env>-content-urls.record``, mode 600, created once: every row's field before and after."""
    path = record_path(run)
    path.parent.mkdir(exist_ok=True)
    text = record_edits.record_text(rows, run_id=run.run_id, env=run.settings.env, media_url=forms.media_url)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as record:
        record.write(text)
        record.flush()
        os.fsync(record.fileno())
    return path


def read_record(path: Path) -> list[RowChange]:
    try:
        return record_edits.read_record(path.read_text(encoding="utf-8"))[1]
    except (OSError, ValueError) as problem:
        raise ConfigError(f"{path}: cannot read the rewrite's record ({problem}); it is needed to put the content "
                          f"back: restore it from a backup, or move it aside to go on without it") from None


def pending_records(settings: Settings) -> list[Path]:
    """The environment's rewrite records under runs/ not yet put back, newest first."""
    runs = settings.project_root / "runs"
    if not runs.is_dir():
        return []
    found = sorted(runs.glob(f"*-{settings.env}{RECORD_SUFFIX}"), reverse=True)
    return [path for path in found if not path.with_name(path.name + RESTORED).exists()]


def mark_restored(path: Path, run_id: str, result: RestoreResult) -> Path:
    """The sibling ``<record>.restored``: which run put it back, and how; the record itself is kept."""
    marker = path.with_name(path.name + RESTORED)
    descriptor = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as written:
        written.write(json.dumps({"run_id": run_id, "restored": result.restored, "already": result.already,
                                  "named": list(result.named)}, default=str) + "\n")
    return marker


def unmark_restored(marker: Path) -> None:
    """The marker gone: the record is pending again, and the next rollback puts it back (the undo of a
    rollback's restore wrote its rows again)."""
    marker.unlink(missing_ok=True)
