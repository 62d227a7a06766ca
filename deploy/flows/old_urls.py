"""Reclaim and the content's old media URLs that redirect: checked before the removal, and after it.

Issue 25: old media URLs keep working.  ``deploy.site.facts.redirects`` says what is asked and how it is
judged; ``deploy.site.ops.redirects`` asks.

- reclaim's preflight (``redirect_installed``, from ``deploy.flows.content.refuse_content_urls``): the
  files are still on disk, and the redirect serves them from there (200).  A made-up name under the old
  media path, which no disk holds, must answer 301 (or 308) to the URL the site's storage gives it, at
  every host's SITE_URL (and each other old host the content's URLs name): the fallback is installed.
  Private media (PUBLIC_MEDIA=false): a temporary redirect (302, 307) passes too, to a signed URL only.
- after the removal (``check_after_removal``, a step of ``deploy.flows.reclaim``): a sample of the
  content's old URLs whose files were removed answer 301 (private media: 302, signed) to the storage's
  URL, and that URL, fetched as the Location gives it, 200, at each place.  Redirected (as the preflight decided), a failure fails the step: the removal's undo downloads the
  removed files back.  Accepted with --accept-content-urls instead, the operator took broken old URLs on:
  what they answer is said, and the reclaim stands.
"""

from __future__ import annotations

import secrets

from ..errors import HealthError
from ..site.facts import redirects as facts
from ..site.facts.content_urls import ContentReport
from ..site.ops import content_urls as content
from ..site.ops import redirects
from .state import FlowRun

SHOWN = 3   # old URLs not redirected, named one a line (accepted); the rest counted


def site_urls(run: FlowRun) -> dict[str, str]:
    """Each host's alias -> its SITE_URL (the hosts that have one)."""
    return {host.alias: host.site_url for host in run.targets if host.site_url}


def redirect_installed(run: FlowRun, report: ContentReport) -> tuple[list[str], list[str]]:
    """(the places the redirect answered at, the problems): a made-up name, asked at each place, answers a
    redirect to the storage's URL for it (permanent; or, private media, to a signed URL), the bucket's answer
    unasked (it has no such object: only the Location counts)."""
    name = facts.PROBE_NAME.format(token=secrets.token_hex(4))
    olds = facts.probes(report, site_urls(run), name)
    if not olds:
        return [], ["nowhere to ask: no host has a SITE_URL, and no old URL names a file on another host"]
    urls = content.storage_urls(run, [name]).urls
    checked = redirects.check_redirects(run.settings, olds, urls, fetch=False, faults=run.faults)
    problems = [problem for place in checked.values() for problem in place.problems]
    return [place.place for place in checked.values() if not place.problems], problems


def check_after_removal(run: FlowRun, removed: set[str]) -> str:
    """After the removal: the content's sampled old URLs whose files were removed answer 301 (private
    media: 302, signed) to the storage's URL, each target 200, at each place; one line a place."""
    state = run.state.content
    decided = state.redirect.decided
    if not decided:
        return "no old media URL in the content to ask"
    if not removed:
        return "nothing removed: the content's old URLs are still served from disk"
    sampled = [old for olds in facts.samples(state.report, site_urls(run)).values() for old in olds]
    olds = [old for old in sampled if old.name in removed]
    if not olds:
        return f"none of the {len(sampled)} old URLs sampled names a removed file: nothing to ask"
    urls = content.storage_urls(run, {old.name for old in olds}).urls
    checked = redirects.check_redirects(run.settings, olds, urls, fetch=True, faults=run.faults)
    problems = [problem for place in checked.values() for problem in place.problems]
    if problems and decided == "redirected":
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise HealthError(f"old media URL not redirected after the removal: {problems[0]}{more}")
    lines = [place.line() for place in checked.values() if place.passed]
    lines += [f"NOT redirected (accepted: --accept-content-urls): {problem}" for problem in problems[:SHOWN]]
    if len(problems) > SHOWN:
        lines.append(f"... and {len(problems) - SHOWN} more old URLs not redirected")
    return "\n".join(lines)


def preview_after_removal(run: FlowRun) -> str:
    if not run.state.content.redirect.decided:
        return "no old media URL in the content to ask"
    answer = "301 to the storage's URL" if run.settings.public_media else "302 to the storage's signed URL"
    return ("would ask a sample of the content's old media URLs whose files are removed, at each host: "
            f"{answer}, each target 200")
