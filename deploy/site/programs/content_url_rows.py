"""The rows' part of content_url_tool.py: which fields and rows hold old media URLs, how one is set, its undo.

Sent after content_url_finder.py and before content_url_rewrite.py (or imported from beside it when the tool
runs as a file).  Django is imported inside the functions.

- which: every text-like field (CharField, TextField, JSONField and subclasses) of every concrete model's own
  table, its candidate rows filtered by the database (``contains`` on the media path);
- how: CompareAndSet, ``filter(pk=, field=old).update(field=new)`` compiled once a field and sent in batches,
  and the rewrite's Record on the host (the rewrite itself: content_url_rewrite.py);
- restore: the record's lines on stdin; each row, newest first, gets ``before`` back where it still holds
  ``after`` (compare-and-set), and is listed ("rows": model, field, pk: exactly those a later undo takes
  again); one holding ``before`` already (its model rolled back, or restored before) is counted; the
  others (changed since, or gone) are named.  The restore's undo is a restore of the same rows with
  ``before`` and ``after`` swapped.
"""

import hashlib
import json
import os
import sys

ROW_MARKER = "MEDIA-CUTOVER-CONTENT-ROW "
HASH_MARKER = "MEDIA-CUTOVER-CONTENT-HASH "
BATCH = 500      # rows a field's compare-and-set sends in one executemany

class Refused(Exception):
    """Stop with this one-line message; nothing was changed."""


class NotEveryRow(Exception):
    """A batch's row count fell short: its savepoint rolled back."""


def text_fields(model):
    """(field, "text" | "json") of the model's own table (an inherited field is its parent's table's):
    CharField, TextField, JSONField and their subclasses (RichTextField, FileBrowseField, URLField...)."""
    from django.db import models
    for field in model._meta.local_concrete_fields:
        if field.primary_key:
            continue  # a rewrite never changes a key
        if isinstance(field, (models.CharField, models.TextField)):
            yield field, "text"
        elif isinstance(field, models.JSONField):
            yield field, "json"


def content_models():
    """Concrete models (a proxy's rows are its concrete model's).  Unmanaged ones are read too: a table the
    site uses all the same; a failure on one is reported, not fatal."""
    from django.apps import apps
    return [model for model in apps.get_models() if not model._meta.proxy]


def label(model, field=None):
    return model._meta.label + ("." + field.name if field is not None else "")


def candidate_rows(model, field, kind, forms):
    """(the rows whose value contains an old media URL's path, filtered by the database; the column of their
    text).  A JSONField is cast to text first: its own ``contains`` is JSON containment (and SQLite has none)."""
    from django.db.models import Q, TextField
    from django.db.models.functions import Cast
    rows, column = model._base_manager.all(), field.attname  # not the default manager: it may hide rows
    if kind == "json":
        rows, column = rows.annotate(media_cutover_text=Cast(field.attname, TextField())), "media_cutover_text"
    condition = Q()
    for term, insensitive in forms.database_terms():
        condition |= Q(**{column + ("__icontains" if insensitive else "__contains"): term})
    return rows.filter(condition), column


def candidates(model, field, kind, forms):
    """(pk, value) of the candidate rows."""
    return candidate_rows(model, field, kind, forms)[0].values_list("pk", field.attname)


def candidate_chars(model, field, kind, forms):
    """The characters of the candidate rows' values, summed by the database: a rewrite's record holds each
    changed row's value twice (before and after), so its room is judged by them."""
    from django.db.models import Sum
    from django.db.models.functions import Length
    rows, column = candidate_rows(model, field, kind, forms)
    return rows.aggregate(media_cutover_chars=Sum(Length(column)))["media_cutover_chars"] or 0


class CompareAndSet:
    """``model._base_manager.filter(pk=pk, <field>=old).update(<field>=new)``: the row count, 1 when the row held
    ``old`` and now holds ``new``.

    The ORM builds and compiles that query again for every row (~0.4 ms: 100,000 rows took 80 s).  Here its SQL
    is compiled once, for the first row, and run again with each row's parameters, prepared the way the ORM
    prepares them (``get_db_prep_save`` for the new value, ``get_db_prep_value`` for the looked-up ones, in the
    order of the compiled query's WHERE: the lookups by name).  The first row's parameters are checked against
    the ORM's own; a difference, None on either side (the ORM's "IS NULL", a JSON null), or a query that does
    not compile so: the ORM's update, row by row, as before."""

    def __init__(self, model, field):
        self.model, self.field, self.sql = model, field, None   # None: not compiled yet; False: the ORM's

    def _orm(self, pk, old, new):
        return self.model._base_manager.filter(pk=pk, **{self.field.attname: old}).update(**{self.field.attname: new})

    def _parameters(self, connection, pk, old, new):
        lookups = sorted([("pk", self.model._meta.pk.get_db_prep_value(pk, connection, prepared=False)),
                          (self.field.attname, self.field.get_db_prep_value(old, connection, prepared=False))])
        return (self.field.get_db_prep_save(new, connection),) + tuple(value for _, value in lookups)

    def _compile(self, pk, old, new):
        from django.db import connections
        from django.db.models.sql.subqueries import UpdateQuery
        rows = self.model._base_manager.filter(pk=pk, **{self.field.attname: old})
        query = rows.query.chain(UpdateQuery)
        query.add_update_values({self.field.attname: new})
        sql, parameters = query.get_compiler(rows.db).as_sql()
        connection = connections[rows.db]
        if query.related_updates or tuple(parameters) != self._parameters(connection, pk, old, new):
            return False
        self.db = rows.db
        return sql

    def _compiled(self, pk, old, new):
        """Whether the compiled SQL serves (compiled from this row if not yet)."""
        if old is None or new is None or self.sql is False:
            return False
        if self.sql is None:
            try:
                self.sql = self._compile(pk, old, new)
            except Exception:  # an older Django's query API: the ORM's update
                self.sql = False
        return self.sql is not False

    def many(self, rows):
        """Each (pk, old, new) of ``rows`` set, a True for each row that held ``old``.  BATCH rows at a time
        in one ``executemany`` inside a savepoint: when its row count is not one a row, the savepoint is
        rolled back and those rows go one by one (each one's own answer)."""
        applied = []
        for start in range(0, len(rows), BATCH):
            part = rows[start:start + BATCH]
            if self._batch(part):
                applied += [True] * len(part)
            else:
                applied += [self(pk, old, new) == 1 for pk, old, new in part]
        return applied

    def _batch(self, part):
        if not part or any(old is None or new is None for _, old, new in part) or not self._compiled(*part[0]):
            return False
        from django.db import connections, transaction
        connection = connections[self.db]
        parameters = [self._parameters(connection, pk, old, new) for pk, old, new in part]
        try:
            with transaction.atomic(using=self.db), connection.cursor() as cursor:
                cursor.executemany(self.sql, parameters)
                if cursor.rowcount != len(part):  # a row changed since read, or a driver that does not sum
                    raise NotEveryRow()
        except NotEveryRow:
            return False
        return True

    def __call__(self, pk, old, new):
        if not self._compiled(pk, old, new):
            return self._orm(pk, old, new)
        from django.db import connections
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self._parameters(connection, pk, old, new))
            return cursor.rowcount


RECORD_RESERVE = 64 << 20   # bytes the record leaves free on its filesystem: the site writes uploads there too


class Record:
    """The rows' record on this host: a new file (mode 600), each model's lines appended and fsynced before
    its commit; its rows, bytes and sha256 counted as written.  A model's lines that would leave less than
    ``reserve`` bytes free on the record's filesystem are refused (Refused, in the model's transaction: it
    is rolled back), so a rewrite never fills the site's disk, and never commits what it could not record."""

    def __init__(self, path, reserve=RECORD_RESERVE):
        self.path, self.reserve = os.path.expanduser(path), reserve
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        self.file = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self.sha256, self.rows, self.bytes = hashlib.sha256(), 0, 0

    def write(self, lines):
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        filesystem = os.statvfs(self.path)
        free = filesystem.f_bavail * filesystem.f_frsize
        if free - len(data) < self.reserve:
            raise Refused("no room for the record in %s: %d rows take %d bytes, %d bytes are free and %d are kept "
                          "free; free some space there and run the rewrite again"
                          % (os.path.dirname(self.path), len(lines), len(data), free, self.reserve))
        self.file.write(data)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.sha256.update(data)
        self.rows += len(lines)
        self.bytes += len(data)

    def report(self):
        return {"path": self.path, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256.hexdigest()}

    def close(self):
        self.file.close()


def read_record(text):
    rows = []
    for line in text.splitlines():
        line = line[len(ROW_MARKER):] if line.startswith(ROW_MARKER) else line
        if line.strip():
            rows.append(json.loads(line))
    return rows


def restore(args, forms):
    from django.apps import apps
    from django.db import router, transaction
    by_model = {}
    for row in reversed(read_record(sys.stdin.read())):  # newest first: a row rewritten twice goes back in order
        by_model.setdefault(row["model"], []).append(row)
    summary = {"restored": 0, "already": 0, "named": [], "rows": []}
    for name, rows in by_model.items():
        model = apps.get_model(name)
        updates = {}
        with transaction.atomic(using=router.db_for_write(model)):
            for row in rows:
                field = model._meta.get_field(row["field"])
                attname = field.attname
                if field.name not in updates:
                    updates[field.name] = CompareAndSet(model, field)
                if updates[field.name](row["pk"], row["after"], row["before"]) == 1:
                    summary["restored"] += 1
                    summary["rows"].append({"model": name, "field": row["field"], "pk": row["pk"]})
                    continue
                row_now = model._base_manager.filter(pk=row["pk"])
                now = list(row_now.values_list(attname, flat=True))
                if now and now[0] == row["before"]:
                    summary["already"] += 1
                else:
                    summary["named"].append({"model": name, "field": row["field"], "pk": row["pk"],
                                             "why": "changed since the rewrite" if now else "gone"})
    return summary
