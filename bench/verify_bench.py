"""The cutover's verify on the sandbox, against `rclone check --one-way --size-only`.

``project_verify`` times ``deploy.media.manifest.verify_bucket`` (the cutover's verify step:
the manifest streamed from the media host, merge-joined with the bucket
listing of deploy.store.listing) on the bench's open connection; ``rclone_check`` the
peer's check of the same tree against the same prefix, run on the media host.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from fabric import Connection

from deploy.config.types import Settings
from deploy.engine.run import Options, Run
from deploy.media.manifest import verify_bucket
from deploy.media.passes import Passes

from .host import timed_run


class _NoJournal:
    def record(self, event) -> None:
        pass


def project_verify(connection: Connection, settings: Settings, source: str, prefix: str) -> Callable[[], float]:
    """The cutover's verify of ``source`` against ``prefix``, on the bench's open connection."""
    verify_settings = replace(settings, media_root=source, media_prefix=prefix)

    def timed() -> float:
        run = Run(verify_settings, Options(), _NoJournal(), lambda line: None, "bench", Passes(),
                  _connections={verify_settings.media_host: connection})
        begin = time.monotonic()
        report, _ = verify_bucket(run, run.state)
        seconds = time.monotonic() - begin
        if report.local_count == 0 or not report.ok:
            raise RuntimeError(f"verify of {prefix} found {report.summary_lines()}")
        return seconds
    return timed


def rclone_check(connection: Connection, command: str) -> Callable[[], float]:
    def timed() -> float:
        seconds, _ = timed_run(connection, command, "rclone check")
        return seconds
    return timed
