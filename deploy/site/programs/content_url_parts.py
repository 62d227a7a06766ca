"""A field's candidate rows read and parsed by forked processes, each its share: the program's reading of
100,000 rows is the parsing of their URLs in Python, one core's work otherwise.  And the find's Tally, whose
shares' states merge into what one reading would have said.

The first part of content_url_tool.py's text (``manage.py shell -c`` gets it before the finder), or imported
from beside it when the tool runs as a file.  The stdlib and Django only; Django imported inside.

Only read-only work is split (the find, a dry run's plan): no child writes, and no child runs inside a
transaction the parent holds.  Every database connection is closed before the fork, so each child opens its
own.  With an integer primary key the database hands each child its share (``pk % parts``), else each child
reads every candidate and keeps those at its positions.  Each child's result (plain data) comes back pickled
over a pipe; a child that fails makes the whole work fail with its message, as one process would.
"""

import os
import pickle
import sys

MAX_PARTS = 4          # processes a field's rows are split among, at most
EXAMPLES = 3           # example URLs a field's report shows


def cores():
    """The cores this process may run on (MEDIA_CUTOVER_CONTENT_PARTS, when set, instead)."""
    wanted = os.environ.get("MEDIA_CUTOVER_CONTENT_PARTS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parts_wanted():
    """How many processes read the content: one a core, up to MAX_PARTS; 1 without fork."""
    return min(MAX_PARTS, cores()) if hasattr(os, "fork") else 1


def share(rows, part, parts):
    """The rows of ``rows`` (a values_list of (pk, value)) that part ``part`` of ``parts`` takes, as
    (position, pk, value): by ``pk % parts`` in the database when the key is an integer, else by position."""
    from django.db import models
    from django.db.models import F
    from django.db.models.functions import Abs
    if parts == 1:
        return ((position, pk, value) for position, (pk, value) in enumerate(rows.iterator()))
    if isinstance(rows.model._meta.pk, models.IntegerField) and hasattr(rows, "alias"):  # alias: Django 3.2+
        # Abs: SQL's % keeps the sign, and a negative key's remainder would be no part's (the row never read).
        mine = rows.alias(media_cutover_part=Abs(F("pk")) % parts).filter(media_cutover_part=part)
        return ((pk, pk, value) for pk, value in mine.iterator())
    return ((position, pk, value) for position, (pk, value) in enumerate(rows.iterator())
            if position % parts == part)


def in_parts(parts, work, meanwhile=lambda: None):
    """([work(0, parts), ..., work(parts - 1, parts)], meanwhile()): with ``parts`` > 1 each work in a forked
    child, its result pickled back, and ``meanwhile`` run here in the meantime; a child's failure raises
    RuntimeError with its message (once every child ended)."""
    if parts < 2:
        return [work(0, 1)], meanwhile()
    from django.db import connections
    connections.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    children = []
    for part in range(parts):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its share, its answer down the pipe, and out without the parent's exit handlers
            os.close(read)
            status = 0
            try:
                try:
                    answer = ("done", work(part, parts))
                except BaseException as problem:
                    answer, status = ("failed", "%s: %s" % (type(problem).__name__, problem)), 1
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
                connections.close_all()
            finally:
                os._exit(status)
        os.close(write)
        children.append((pid, read))
    try:
        done_here = meanwhile()
    finally:
        results, failures = collect(children)
    if failures:
        raise RuntimeError(failures[0])
    return results, done_here


def collect(children):
    """Each child's answer, read whole from its pipe, the child waited for: (results, failures)."""
    results, failures = [], []
    for pid, read in children:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        try:
            kind, answer = pickle.loads(data)
        except Exception:  # killed before it wrote (out of memory, a signal)
            kind, answer = "failed", "a reading process ended without an answer"
        if kind == "done":
            results.append(answer)
        else:
            failures.append(answer)
    return results, failures


class Tally:
    """What one field holds in one form: rows, URLs, examples, distinct names and which are on disk.  Each
    example and name keeps the key of the row it was first seen in (its position, or its integer pk), so
    that the tallies of a field's shares (content_url_parts) merge into what one reading would have said."""

    def __init__(self, name, kind, form):
        self.report = {"field": name, "type": kind, "form": form, "candidates": 0, "rows": 0, "urls": 0,
                       "examples": [], "foreign_hosts": {}, "on_storage": 0, "unnamed": 0}
        self.names = {}      # name: (key, on disk?)
        self.examples = {}   # raw URL: key, the first EXAMPLES seen

    def add(self, found, key, on_disk):
        """Count one occurrence; True when it is an old media URL."""
        report = self.report
        if not found.ours:  # another host's /media/ path (or the storage's own, told apart in done())
            report["foreign_hosts"][found.host] = report["foreign_hosts"].get(found.host, 0) + 1
            return False
        report["urls"] += 1
        key = (key, report["urls"])  # the row's, then the URL's place in this tally: the order of one reading
        if len(self.examples) < EXAMPLES and found.raw not in self.examples:
            self.examples[found.raw] = key
        if found.name is None:
            report["unnamed"] += 1
        elif found.name not in self.names:
            self.names[found.name] = (key, on_disk(found.name))
        return True

    def state(self):
        return self.report, self.names, self.examples

    @classmethod
    def merged(cls, states):
        """One tally of the shares' states: counts added, the first examples and names by key."""
        first = states[0][0]
        tally = cls(first["field"], first["type"], first["form"])
        report = tally.report
        for share, names, examples in states:
            for count in ("candidates", "rows", "urls", "unnamed"):
                report[count] += share[count]
            for host, count in share["foreign_hosts"].items():
                report["foreign_hosts"][host] = report["foreign_hosts"].get(host, 0) + count
            for name, (key, present) in names.items():
                if name not in tally.names or key < tally.names[name][0]:
                    tally.names[name] = (key, present)
            for raw, key in examples.items():
                tally.examples[raw] = min(key, tally.examples.get(raw, key))
        tally.names = dict(sorted(tally.names.items(), key=lambda item: item[1][0]))
        tally.examples = dict(sorted(tally.examples.items(), key=lambda item: item[1])[:EXAMPLES])
        return tally

    def done(self, limit, storage_hosts=()):
        """The report: URLs on the storage's own hosts (after a rewrite) counted apart from other hosts'."""
        foreign = dict(self.report["foreign_hosts"])
        on_storage = sum(foreign.pop(host) for host in list(foreign) if host in storage_hosts)
        names = list(self.names)
        hosts = sorted(foreign.items(), key=lambda item: -item[1])[:10]
        return dict(self.report, names=names if limit <= 0 else names[:limit], names_total=len(names),
                    examples=list(self.examples), on_storage=self.report["on_storage"] + on_storage,
                    on_disk=sum(1 for _, present in self.names.values() if present),
                    missing_on_disk=[name for name, (_, present) in self.names.items() if not present][:20],
                    foreign_hosts=dict(hosts))
