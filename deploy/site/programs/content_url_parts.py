"""A field's candidate rows read and parsed by forked processes, each its share: the program's reading of
100,000 rows is the parsing of their URLs in Python, one core's work otherwise.

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
    if parts == 1:
        return ((position, pk, value) for position, (pk, value) in enumerate(rows.iterator()))
    if isinstance(rows.model._meta.pk, models.IntegerField) and hasattr(rows, "alias"):  # alias: Django 3.2+
        mine = rows.alias(media_cutover_part=F("pk") % parts).filter(media_cutover_part=part)
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
