"""The content's old media URLs in the flows: found, reported, refused, put back.

Rich text and JSON store ``<img src="/media/uploads/a.png">`` literally: after the switch it still asks the
web server, and breaks once the disk is reclaimed (``deploy.site.facts.content_urls``).  One database for
every host: the program runs on the content host (``deploy.site.ops.content_urls``).

- `invoke content-urls` (``run_find``): what the content holds, by field, and where its files are;
- the cutover's preflight says how many (``report_content_urls``): a line, never a refusal;
- reclaim's preflight refuses while any remain (``refuse_content_urls``), unless they redirect to the bucket
  (``deploy.flows.old_urls``) or --accept-content-urls;
- the rollback puts back every rewrite of the environment not put back yet (``RESTORE_CONTENT``); if a later
  step of the rollback fails, its undo writes the bucket's URLs again in exactly the rows it put back.

The rewrite itself is ``deploy.flows.rewrite_urls``.  Each find is journaled (``ContentUrlCounts``):
`invoke status` says the last one's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable

from ..engine.counts import ContentRewriteCounts
from ..engine.runner import Step
from ..errors import MediaCutoverError, PreflightError
from ..site.edits.content_url_record import put_back_rows
from ..site.edits.content_urls import RowChange
from ..site.facts.content_urls import ContentReport, UrlForms
from ..site.ops import content_urls as content
from ..site.ops import storage
from ..text_table import counted
from .direction import TO_DISK
from .old_urls import redirect_installed
from .state import FlowRun, PutBack, disk_media

CHEAP = 1   # names a field the preflights ask for: they count, the rewrite lists


def forms(run: FlowRun) -> UrlForms:
    """The forms to look for: the disk's MEDIA_URL (``state.disk_media``: DISK_MEDIA_URL, else what a probe of
    the site on disk read, else /media/) on the sites' hosts and OLD_MEDIA_HOSTS."""
    media_url, _ = disk_media(run)
    run.state.content.forms = content.forms_of(run.settings, media_url)
    return run.state.content.forms


def looked_for(run: FlowRun) -> str:
    """Which disk MEDIA_URL was looked for, and where it came from."""
    media_url, source = disk_media(run)
    return f"{media_url} ({source})"


def probe_disk_settings(run: FlowRun) -> str:
    """The disk's MEDIA_URL of a site that serves from S3 now: its settings with the switch off, staged
    (nothing written: the file as a rollback would write it) and probed on the content host.  A site on
    disk says it itself (the preflight's probe); DISK_MEDIA_URL, where set, says it for both."""
    settings, alias = run.settings, content.content_host(run).alias
    if settings.disk_media_url:
        return f"DISK_MEDIA_URL is {settings.disk_media_url}: nothing to ask the site"
    before = run.state.switch.storage_before.get(alias)
    if before is not None and before.serving.get("bucket") is None:
        return f"{alias} serves from disk: its MEDIA_URL is {before.media_url}"
    run.state.switch.settings_checked.update(storage.probe_sites(run, [alias], staged=TO_DISK.staged))
    return f"{alias}, its settings with {settings.switch_name} off (staged, nothing written): MEDIA_URL {looked_for(run)}"


DISK_SETTINGS_STEP = "preflight: the disk's MEDIA_URL"
SETTINGS_AND_DISK_STEP = "preflight: what the sites' settings select, and the disk's MEDIA_URL"


def with_disk_settings(probe_now: Callable[[FlowRun], str]) -> Callable[[FlowRun], str]:
    """A step: ``probe_now`` (what the sites' settings select now) and ``probe_disk_settings`` at once.  Each
    is a Django start-up over SSH; the staged probe is wanted only when the first says S3, so it starts beside
    it whatever that says, and is kept (or its failure raised) only then."""
    def both(run: FlowRun) -> str:
        if run.settings.disk_media_url:
            return "\n".join([probe_now(run), probe_disk_settings(run)])
        alias = content.content_host(run).alias
        with ThreadPoolExecutor(1, thread_name_prefix="disk-settings") as pool:
            staged = pool.submit(storage.probe_sites, run, [alias], staged=TO_DISK.staged)
            now = probe_now(run)
            wait([staged])
        before = run.state.switch.storage_before.get(alias)
        if before is not None and before.serving.get("bucket") is None:
            return f"{now}\n{alias} serves from disk: its MEDIA_URL is {before.media_url}"
        run.state.switch.settings_checked.update(staged.result())
        return (f"{now}\n{alias}, its settings with {run.settings.switch_name} off (staged, nothing written): "
                f"MEDIA_URL {looked_for(run)}")
    both.__doc__ = f"{probe_now.__doc__ or ''}\n\nAnd beside it: {probe_disk_settings.__doc__}"
    return both


# --- the preflights ------------------------------------------------------------------------------

def _count(run: FlowRun) -> ContentReport | str:
    """The find, cheaply (counts, few names); or why the content could not be read."""
    if not content.can_read(run):
        return "not looked at (no host has MANAGE_PY and SITE_PYTHON)"
    run.state.content.report = content.find(run, forms(run), names_limit=CHEAP)
    return run.state.content.report


def redirect_part(public_media: bool) -> str:
    """The settings-snippet part that redirects old media URLs: nginx's, or for private media the Django
    view's (nginx cannot sign)."""
    return "nginx" if public_media else "django-redirect"


def report_content_urls(run: FlowRun) -> str:
    """The cutover's: how many old media URLs the content holds.  Never a refusal: a line, and the cutover
    goes on whatever the find says (or fails to)."""
    env = run.settings.env
    try:
        found = _count(run)
    except MediaCutoverError as error:
        return f"content: not looked at ({error}); the cutover goes on"
    if isinstance(found, str):
        return f"content: {found}"
    line = f"content: {found.summary()}"
    if found.url_fields:
        line += (f"\n    they keep asking the web servers after the switch: `invoke rewrite-urls --env={env}` once "
                 f"on S3, or `invoke settings-snippet --env={env} --part={redirect_part(run.settings.public_media)}`")
    return line


def refuse_content_urls(run: FlowRun) -> str:
    """Reclaim's: refused while the content holds old media URLs (their files are what it removes), unless
    they are redirected (a made-up name answers 301 to the bucket at every place: ``old_urls``), or
    --accept-content-urls.  What it decided is the check after the removal's (``state.RedirectCheck``)."""
    env, decision = run.settings.env, run.state.content.redirect
    found = _count(run)
    if isinstance(found, str):
        return f"content: {found}: old media URLs not checked"
    if not found.url_fields:
        return f"content: {found.summary()}"
    places, problems = redirect_installed(run, found)
    if not problems:
        decision.decided, decision.places = "redirected", places
        return f"content: {found.summary()}: redirected to the bucket (checked on {', '.join(places)})"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    if run.options.accept_content_urls:
        decision.decided, decision.not_seen = "accepted", problems[0] + more
        return (f"content: {found.summary()}: accepted (--accept-content-urls); the redirect to the bucket was "
                f"not seen: {problems[0]}{more}")
    raise PreflightError(f"content: {found.summary()} still ask the disk reclaim frees, and a name not on disk is "
                         f"not redirected to the bucket ({problems[0]}{more}): rewrite them first (`invoke "
                         f"rewrite-urls --env={env}`), or install the redirect from `invoke settings-snippet "
                         f"--env={env} --part={redirect_part(run.settings.public_media)}`; or pass "
                         "--accept-content-urls")


# --- putting a rewrite back (the rewrite's undo, the rollback) --------------------------------------

def restore_record(run: FlowRun, path: Path, rows: list[RowChange]) -> list[str]:
    """The rows of one record put back where they still hold what was written (the others named); the
    record marked restored (``.restored`` beside it: no later rollback takes it again)."""
    result = content.restore(run, rows)
    marker = content.mark_restored(path, run.run_id, result)
    run.state.content.restored.append(PutBack(path, marker, put_back_rows(rows, result)))
    run.journal.record(ContentRewriteCounts(action="restore", rows=result.restored, skipped=len(result.named),
                                            record=str(path)))
    return [f"{path.name}:", *result.lines()]


def restore_rewrites(run: FlowRun) -> str:
    """The rollback's: every rewrite record of the environment under runs/ not put back yet, newest first,
    byte for byte where the row still holds what was written.  The rewrite stays recorded; its undo
    (``rewrite_again``) writes it again."""
    records = content.pending_records(run.settings)
    if not records:
        return "no rewrite of the content's URLs to put back"
    if not content.can_read(run):
        return (f"NOT put back: {counted(len(records), 'rewrite record')} ({', '.join(path.name for path in records)}): no host "
                f"has MANAGE_PY and SITE_PYTHON; the content keeps the bucket's URLs (they still fetch)")
    lines = []
    for path in records:
        lines += restore_record(run, path, content.read_record(path))
    return "\n".join(lines)


def rewrite_again(run: FlowRun) -> str:
    """Undo: a later step of the rollback failed, and its undo leaves the sites on S3 (after a reclaim the
    disk lacks the files the old URLs name).  Each record this run put back, the last first: exactly its
    rows put back get the rewritten value again where they still hold the old one (a row changed since is
    named, not touched), and its ``.restored`` marker goes (the next rollback puts it back again)."""
    state, lines = run.state.content, []
    while state.restored:
        put = state.restored[-1]
        if put.rows:
            result = content.restore(run, [row.swapped() for row in put.rows])
            run.journal.record(ContentRewriteCounts(action="rewrite again", rows=result.restored,
                                                    skipped=len(result.named), record=str(put.record)))
            lines += [f"{put.record.name}:", *result.reapplied_lines()]
        content.unmark_restored(put.marker)
        state.restored.pop()
    return "\n".join(lines)


def preview_restore(run: FlowRun) -> str:
    records = content.pending_records(run.settings)
    if not records:
        return "no rewrite of the content's URLs to put back"
    return "\n".join(f"would put back the {counted(len(content.read_record(path)), 'row')} of {path}"
                     for path in records)


RESTORE_CONTENT = Step("put the content's old media URLs back", restore_rewrites, undo=rewrite_again,
                       preview=preview_restore)
