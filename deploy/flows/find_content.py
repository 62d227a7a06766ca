"""`invoke content-urls`: which fields of the content hold old media URLs, and where their files are.

    hosts and settings files read -> what the content host's settings select -> the disk's MEDIA_URL (the
    settings with the switch off, staged, for a site on S3) -> the find, and the bucket's look-up

A run of its own, journaled (``ContentUrlCounts``: `invoke status` says the last count), taking no lock:
it changes nothing.  The parts it shares with the preflights and the rewrite are ``deploy.flows.content``.
"""

from __future__ import annotations

from typing import Callable

from ..config.types import Settings
from ..engine.run import Options
from ..engine.runner import Runner, Step, execute_run
from ..site.ops import content_urls as content
from ..site.ops import storage
from .content import forms, looked_for, redirect_part, with_disk_settings
from .preflight_hosts import check_hosts_read
from .state import ContentState, FlowRun, FlowState


def probe_content_host(run: FlowRun) -> str:
    """What the content host's settings select: its MEDIA_URL is the disk's while it serves from disk."""
    if run.settings.disk_media_url:
        return f"DISK_MEDIA_URL is {run.settings.disk_media_url}: nothing to ask the site"
    alias = content.content_host(run).alias
    report = run.state.switch.storage_before[alias] = storage.probe(run, alias)
    return report.summary()


def find_all(run: FlowRun) -> str:
    """Every field with old media URLs, and which of their files the bucket holds."""
    state = run.state.content
    report = state.report = content.find(run, forms(run))
    names = report.names()
    state.in_bucket = content.in_bucket(run, names) if names else set()
    return f"{report.host}, looking for {looked_for(run)}: {report.summary()}"


FIND = [
    Step("preflight: hosts and settings files", check_hosts_read),
    Step("what the content host's settings select, and the disk's MEDIA_URL", with_disk_settings(probe_content_host)),
    Step("find old media URLs in the content", find_all),
]


def run_find(settings: Settings, say: Callable[[str], None]) -> tuple[Runner, ContentState]:
    """The find, journaled as a run of its own (no lock: it changes nothing)."""
    state = FlowState()
    runner = execute_run("content-urls", FIND, settings, Options(), say, release_lock=lambda run: None, state=state)
    return runner, state.content


def find_output(env: str, state: ContentState, public_media: bool) -> str:
    """What `invoke content-urls` prints after its steps: the table, its notes, what to do (the redirect's
    part: ``content.redirect_part``)."""
    report = state.report
    if report is None:
        return "nothing found: the content was not read"
    if not report.url_fields:
        return "\n".join([report.summary(), *report.notes()])
    then = (f"`invoke rewrite-urls --env={env} --dry-run` shows how each would change to the bucket's URL; "
            f"`invoke settings-snippet --env={env} --part={redirect_part(public_media)}` keeps them answering "
            "meanwhile")
    return "\n".join([report.table(state.in_bucket), *report.notes(), then])
