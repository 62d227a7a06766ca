"""The content's old media URLs asked over HTTP: do they redirect to the bucket, and does the target fetch?

The adapter around ``deploy.site.facts.redirects``.  The old URL is asked of the site (a GET, once, its
redirect not followed: ``store.probe.anonymous_get``); the Location, the bucket's URL, is store traffic:
its transient faults retried and counted as ``deploy.retry`` says (``store.probe.fetch_anonymously``, the
first bytes only), as given: a signed Location (private media) with its query.  No URL with its query
string reaches a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from ...config.redact import url_shown
from ...config.types import Settings
from ...retry import FaultTally
from ...store.probe import anonymous_get, fetch_anonymously
from ..facts import redirects as facts
from ..facts.redirects import OldUrl

TIMEOUT = 10
FIRST_BYTES = 1024   # of a target: its answer is what is checked, not its bytes


@dataclass
class Checked:
    """One place's answers: how many passed, with which statuses; the problems, each one line."""

    place: str
    passed: int = 0
    statuses: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return facts.answered_line(self.place, self.passed, self.statuses)


def redirect_of(old: OldUrl, expected: str | None, signed: bool) -> tuple[int, str, str | None]:
    """(status, where it redirects (the Location, absolute, its query kept), the problem or None) of one old
    URL, its redirect not followed; ``signed``: private media (``facts.redirect_problem``)."""
    status, body, headers = anonymous_get(old.url, timeout=TIMEOUT, follow=False)
    location = headers.get("Location")
    return status, urljoin(old.url, location or ""), facts.redirect_problem(old, status, body, location, expected,
                                                                            signed=signed)


def check_redirects(settings: Settings, olds: list[OldUrl], urls: dict[str, str], fetch: bool,
                    faults: FaultTally | None = None) -> dict[str, Checked]:
    """Place -> what its old URLs answered: each a redirect to the storage's URL for its name (``urls``):
    permanent, or for private media (PUBLIC_MEDIA=false) a signed one, temporary or not; and with ``fetch``
    that URL, as the Location gave it, 200."""
    checked: dict[str, Checked] = {}
    for old in olds:
        place = checked.setdefault(old.place, Checked(old.place))
        expected = urls.get(old.name)
        status, target, problem = redirect_of(old, expected, signed=not settings.public_media)
        if problem is None and fetch:
            answered, body, _ = fetch_anonymously(target, settings, faults, timeout=TIMEOUT, most=FIRST_BYTES,
                                                  what=f"{old.place}: the target of {url_shown(old.url)}, "
                                                       f"{url_shown(target)}")
            problem = facts.target_problem(old, target, answered, body)
        if problem is None:
            place.passed += 1
            place.statuses.add(status)
        else:
            place.problems.append(problem)
    return checked
