"""`invoke rewrite-urls`: the content's old media URLs become the bucket's, reversibly.

    preflight (changes nothing: every site serves from S3, its settings select this bucket, the lock
    free) -> lock -> find the old media URLs (every name) -> which of their files the bucket holds ->
    the URL the site's storage gives each now (the bucket's, or AWS_S3_CUSTOM_DOMAIN's) -> plan (--dry-run:
    the program's dry run, the rows that would change, each one's key and hash as read, and the first DIFFS
    whole, kept under runs/; a rewrite: the operator's last dry run, if any since the last rewrite, which
    it holds each row to) -> room for the record (on the content host and in runs/: refused without) ->
    rewrite (one transaction a model; a row changed since the dry run, or between its reading and its
    write, is skipped and named),
    recorded by the program on the content host and fetched once to ``runs/<run id>-<env>-content-urls.record``
    (mode 600: every row's field before and after) -> what remains (as the rewrite counted what it left,
    for `invoke status`)

The rewrite's undo puts the record back (``deploy.flows.content.restore_record``); so does any later
rollback, once.  --dry-run shows each change as a diff and writes nothing; a second run finds nothing to
rewrite.  A name not in the bucket, or whose storage URL is signed or relative, is left as it is (the
plan says which and why).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from ..config.types import Settings
from ..engine.counts import ContentRewriteCounts
from ..engine.lock import describe, lock_path, read_lock
from ..engine.run import Options, Run
from ..engine.runner import Runner, Step, execute_run
from ..errors import PreflightError, RemoteError
from ..site.edits import content_urls as edits
from ..site.edits.dry_run_plan import SavedPlan, check_same_urls
from ..site.facts.content_urls import StorageUrls
from ..site.ops import content_urls as ops
from ..site.ops import dry_run_plans
from ..site.ops.record_room import check_record_room
from ..text_table import counted
from . import steps
from .content import SETTINGS_AND_DISK_STEP, forms, looked_for, restore_record, with_disk_settings
from .preflight import check_on_s3, check_serving_s3, check_storage_selected
from .preflight_hosts import check_hosts_read
from .state import FlowState

RewriteRun = Run[FlowState]
DIFFS = 20   # diffs a dry run shows; the rest counted


def check_lock_free(run: RewriteRun) -> str:
    settings = run.settings
    holder = read_lock(run.media_connection, settings)
    if holder is None:
        return f"{settings.media_host}: lock free"
    if run.options.break_lock:
        return f"the lock held by {describe(holder)} will be broken (--break-lock)"
    raise PreflightError(f"{settings.media_host}: environment {settings.env!r} is locked by {describe(holder)} at "
                         f"{lock_path(settings)}; if that run is dead, re-run with --break-lock")


BEFORE_REWRITE = [
    Step("preflight: hosts and settings files", check_hosts_read),
    Step("preflight: every site on S3", partial(check_on_s3, mirror_refused=False,
                                                wanted="the content moves to the bucket's URLs only after a cutover")),
    Step("preflight: the lock", check_lock_free),
    Step(SETTINGS_AND_DISK_STEP, with_disk_settings(check_storage_selected)),
    Step("preflight: the sites' settings select the bucket", partial(check_serving_s3, mirror_refused=False)),
]


# --- the steps -------------------------------------------------------------------------------

def find_names(run: RewriteRun) -> str:
    """Every old media URL's name, every field (no limit: the plan needs them all)."""
    report = run.state.content.report = ops.find(run, forms(run), names_limit=0, media_root=False,
                                                 storage_urls=True, chars=True)
    return f"{report.host}, looking for {looked_for(run)}: {report.summary()}"


def look_up_bucket(run: RewriteRun) -> str:
    state = run.state.content
    names = state.report.names()
    state.in_bucket = ops.in_bucket(run, names) if names else set()
    verb = "is" if len(state.in_bucket) == 1 else "are"
    return f"{len(state.in_bucket)} of the {counted(len(names), 'file')} they name {verb} in s3://{run.settings.bucket}/"


def ask_storage_urls(run: RewriteRun) -> str:
    state = run.state.content
    if not state.in_bucket:
        return "no file to ask for"
    found = state.report.storage
    if found is not None and state.in_bucket <= found.urls.keys():   # the find's start-up answered it
        state.urls = StorageUrls(found.backend, found.local, {name: found.urls[name] for name in state.in_bucket})
    else:
        state.urls = ops.storage_urls(run, state.in_bucket)
    example = next(iter(sorted(state.urls.urls.items())), None)
    return (f"{state.urls.backend}: {counted(len(state.urls.urls), 'URL')}"
            + (f", e.g. {example[0]} -> {example[1]}" if example else ""))


def plan(run: RewriteRun) -> str:
    """The plan.  A dry run asks the program for the rows that would change, as read now (key and hash; the
    first DIFFS whole, for the diffs).  A rewrite holds each row to the operator's last dry run, if one was
    made since the last rewrite (its URLs must be those shown), else takes each row as it reads it."""
    state = run.state.content
    urls = state.urls.urls if state.urls else {}
    state.plan = edits.plan_rewrite(state.report.names(), state.in_bucket, urls.get, state.forms)
    if not state.plan.urls:
        return "\n".join(["nothing to rewrite", *state.plan.lines()[1:]])
    if run.options.dry_run:
        result = ops.dry_run(run, state.forms, state.plan, shown=DIFFS)
        state.planned, state.shown = list(result.planned), list(result.rows)
        return "\n".join([*state.plan.lines(), *result.lines()])
    state.held_to = dry_run_plans.latest(run.settings)
    if state.held_to is None:
        return "\n".join([*state.plan.lines(), "no dry run since the last rewrite: each row is rewritten as it is "
                          "read (one changed between its reading and its write is skipped and named)"])
    path, saved = state.held_to
    check_same_urls(saved, state.plan.urls, str(path), run.settings.env)
    return "\n".join([*state.plan.lines(), f"each row held to the dry run {saved.run_id} ({path}: "
                      f"{counted(saved.rows(), 'row')}): one changed since, or not in it, is skipped and named"])


def room_for_the_record(run: RewriteRun) -> str:
    """The record's room, on the content host and here (``record_room``): without it the rewrite could not be
    put back, so it is refused before any row changes."""
    state = run.state.content
    if not state.plan or not state.plan.urls:
        return "nothing to record"
    return check_record_room(run, state.report)


def rewrite(run: RewriteRun) -> str:
    """One transaction a model, rows changed since the dry run skipped and named; the program's record of
    the rows fetched to runs/ before anything else can fail."""
    state = run.state.content
    if not state.plan or not state.plan.urls:
        return "nothing to rewrite: no row holds an old URL of a file in the bucket"
    expected = state.held_to[1].expected if state.held_to else None
    done = ops.rewrite(run, state.forms, state.plan, expected=expected)
    state.record, result = done.record, done.result
    skipped = sum(count["skipped_total"] for count in result.fields) if result else 0
    run.journal.record(ContentRewriteCounts(action="rewrite", rows=done.rows, skipped=skipped,
                                            record=str(state.record or "")))
    if result is None:   # a model failed (rolled back): the runner undoes those that committed
        raise RemoteError(done.failed)
    if state.held_to:
        dry_run_plans.mark_used(state.held_to[0], run.run_id)
    state.remains = result.remains(state.forms)
    lines = result.lines()
    if state.record:
        lines.append(f"record: {state.record} (every row's field before and after; a rollback puts them back)")
    return "\n".join(lines)


def put_back(run: RewriteRun) -> str:
    """Undo: the rows this run changed put back from its record (or, the step failed before it was fetched,
    from the program's record on the content host, fetched now)."""
    state = run.state.content
    path = state.record or ops.fetch_record(run, state.forms)
    if path is None:
        return ""
    state.record = path
    return "\n".join(restore_record(run, path, ops.read_record(path)))


def preview_rewrite(run: RewriteRun) -> str:
    """--dry-run: the first DIFFS changes as diffs (the dry run's rows), the others counted; nothing written to
    a host or the database.  The plan is kept under runs/ for the rewrite that follows."""
    state = run.state.content
    if not state.planned:
        return "nothing to rewrite"
    diffs = [edits.diff(row) for row in state.shown[:DIFFS]]
    more = len(state.planned) - len(diffs)
    saved = dry_run_plans.save(run, SavedPlan(run.run_id, state.plan.urls, edits.expected_hashes(state.planned)))
    return "\n".join([*diffs, *([f"... and {counted(more, 'more row')}"] if more > 0 else []),
                      f"would change {counted(len(state.planned), 'row')}, recorded in {ops.record_path(run)}",
                      f"the rows as read now: {saved} (the next rewrite skips and names a row changed since)"])


def what_remains(run: RewriteRun) -> str:
    """The old media URLs left: as the rewrite counted them (the rows it read, less what it changed), else
    (nothing was rewritten) the find again."""
    state = run.state.content
    if state.remains is None:
        report = ops.find(run, state.forms, names_limit=1, media_root=False)
    else:
        report = state.remains
        run.journal.record(ops.counts_of(report))
    return f"left: {report.summary()}"


REWRITE = [
    steps.TAKE_LOCK,
    Step("find old media URLs in the content", find_names),
    Step("which of their files the bucket holds", look_up_bucket),
    Step("the storage's URL for each", ask_storage_urls),
    Step("plan the rewrite", plan),
    Step("room for the record", room_for_the_record),
    Step("rewrite old media URLs to the storage's", rewrite, undo=put_back, preview=preview_rewrite),
    Step("what remains", what_remains, preview=lambda run: "would look again"),
]


def run_rewrite_urls(settings: Settings, options: Options, say: Callable[[str], None],
                     step_list: list[Step] | None = None) -> Runner:
    """Preflight, then the rewrite under the environment's lock; raises StepFailed after undoing."""
    return execute_run("rewrite-urls", BEFORE_REWRITE + REWRITE if step_list is None else step_list, settings, options,
                       say, release_lock=steps.release_lock, state=FlowState())
