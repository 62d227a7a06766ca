"""The sandbox site's seeded content (issue 25): articles whose rich text and JSON store media URLs.

The plan itself is the site's (``site/gallery/content_plan.py``, the stdlib only, run inside the site by
``manage.py seed_content``); this module loads the same file by path, so tests and the bench compute the
exact counts a find of the old media URLs must report without Django:

    from deploy.sandbox.seeded_content import expected_counts
    counts = expected_counts(rows=24, files=398)   # files: the seeded files but the empty one and the symlink
    counts.body_urls, counts.body_relative, counts.body_absolute, counts.data_urls, ..., counts.names

Each seeded article holds 5 old media URLs: ``body`` 3 (2 relative ``/media/…``, 1 absolute on the media
host's SITE_URL), ``data`` 2 (1 relative, 1 absolute).  ``invoke sandbox.up`` seeds DEFAULT_ROWS (24) unless
``--content-rows`` says otherwise, after the media, and records what it seeded in .sandbox/sandbox.json
under "content" (rows, files, site_url, media_url and these counts).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from ..errors import SandboxError

PLAN_FILE = Path(__file__).parent / "site" / "gallery" / "content_plan.py"
MARKER = "SEEDED-CONTENT "


def _plan():
    spec = importlib.util.spec_from_file_location("sandbox_content_plan", PLAN_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan = _plan()
DEFAULT_ROWS: int = plan.DEFAULT_ROWS
ContentCounts = plan.ContentCounts
expected_counts = plan.expected_counts
article = plan.article


def seed_command(rows: int, site_url: str, media_url: str = "/media/") -> str:
    """The manage.py arguments that bring the seed articles to the plan (a no-op when they are so)."""
    return f"seed_content --rows {int(rows)} --site-url {site_url} --media-url {media_url}"


def parse_seeded(output: str) -> tuple[str, dict]:
    """(the command's line for people, what it seeded) from its output."""
    said, data = "", None
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
        elif line.strip():
            said = line.strip()
    if data is None:
        raise SandboxError(f"seed_content printed no report: {output.strip()[-300:] or 'nothing'}")
    return said, data

