"""The rewrite's part of content_url_tool.py: each row's new value worked out, and written model by model.

Sent after content_url_rows.py and before content_url_tool.py (or imported from beside it when the tool runs
as a file).  Django is imported inside the functions.

The plan on stdin is {"urls": {name: new URL}, "expected": {"app.Model.field": {pk: hash}} or null}.

1. Read (content_url_parts: forked processes, each its share of every field's candidate rows, outside any
   transaction): each old media URL whose name "urls" maps replaced (nothing else), the row's hash (of its
   value as read) and what it holds after; a row that would not change counted in what remains.
2. Write, each model in one transaction: with "expected" (the hashes the dry run showed), a row whose value
   changed since, or that the plan does not list, is skipped and named; the others written with a
   compare-and-set, ``filter(pk=, field=old).update(field=new)`` (content_url_rows.CompareAndSet), whose row
   count says whether it happened: a row changed since it was read is not overwritten, it is skipped and
   named ("changed while rewriting").  A row line per row changed: model, field, pk, before, after, hash (of
   before); with a record file those lines reach it (created mode 600, fsynced) before the commit, so no
   committed change goes unrecorded, and the report says how many rows, bytes and their sha256 ("record"),
   for the operator to fetch the file once and check it.  Printed once its model committed: a ROW_MARKER
   line for the first --shown rows (default every one; a dry run's diffs), and with --hashes a HASH_MARKER
   line for every row, its model, field, pk and hash only (a dry run's plan: the rewrite's "expected").
   The report also counts, by field, the old media URLs the content holds after it ("left": those not
   planned, and the rows skipped), as a find would.  ``update()`` runs no ``save()``: no signal, no
   ``auto_now``.

A dry run reads the same way and writes nothing; its readers hand back whole values only for the rows it
shows.
"""

import json
import sys

NAMED_ROWS = 50  # skipped rows named, per field

if "value_hash" not in globals():  # imported as a file, by content_url_tool.py run as one: the parts beside it
    from content_url_finder import value_hash  # noqa: E402
    from content_url_parts import in_parts, parts_wanted, share  # noqa: E402
    from content_url_rows import (ROW_MARKER, HASH_MARKER, CompareAndSet, Record, Refused, candidates,  # noqa: E402
                                  content_models, label, text_fields)


def read_plan(text, forms):
    plan = json.loads(text or "{}")
    urls = plan.get("urls") or {}
    for name, url in urls.items():
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")) \
                or any(character in url for character in " \t\r\n\"'<>\\"):
            raise Refused("the new URL of %r is %r: expected an absolute http(s) URL with no quote, space or "
                          "angle bracket" % (name, url))
        if any(found.ours for found in forms.occurrences(url)):
            raise Refused("the new URL of %r (%s) is itself an old media URL: a second run would not be a no-op"
                          % (name, url))
    return urls, plan.get("expected")


def rewrite(args, forms):
    urls, expected = read_plan(sys.stdin.read(), forms)
    record = Record(args.record, args.record_reserve) if args.record and not args.dry_run else None
    shown = [args.shown if args.shown is not None and args.shown >= 0 else None]  # ROW lines still to print
    summary = {"dry_run": args.dry_run, "fields": [], "failed": [], "left": [], "fields_scanned": 0}
    models = [(model, list(text_fields(model))) for model in content_models()]
    models = [(model, fields) for model, fields in models if fields]
    summary["fields_scanned"] = sum(len(fields) for _, fields in models)
    whole = None if not args.dry_run else shown[0]   # rows a reader hands back whole (None: every one)
    parts = parts_wanted()
    for model, fields in models:   # read and written a model at a time: only one model's rows held at once
        def read(part, parts, model=model, fields=fields):
            return [rewritten_share(model, field, kind, forms, urls, part, parts, whole) for field, kind in fields]

        try:
            shares, _ = in_parts(parts, read)
            counts, left = write_model(model, fields, shares, expected, args.dry_run, record, shown, args.hashes)
            summary["fields"] += counts
            summary["left"] += left
        except Exception as problem:  # its transaction was rolled back: nothing of this model changed
            summary["failed"].append({"model": label(model), "error": "%s: %s" % (type(problem).__name__, problem)})
    summary["changed"] = sum(count["changed"] for count in summary["fields"])
    if record is not None:
        summary["record"] = record.report()
        record.close()
    if summary["failed"]:
        summary["error"] = "%d model(s) failed, each rolled back: %s" % (
            len(summary["failed"]), "; ".join("%(model)s: %(error)s" % failed for failed in summary["failed"]))
    return summary


def rewritten_share(model, field, kind, forms, urls, part, parts, whole):
    """One field's share of its candidate rows, each worked out: {"rows": [(key, pk, hash, [replaced, left],
    before, after)] for the rows that would change (before and after None past the first ``whole``, None:
    every one), "rows_left", "urls_left": the others' old media URLs}; or the failure's message."""
    try:
        rows, rows_left, urls_left = [], 0, 0
        for key, pk, value in share(candidates(model, field, kind, forms), part, parts):
            found = [0, 0]  # old media URLs replaced, left
            new = forms.replaced(value, urls, found, kind == "json")
            if new == value:
                rows_left += 1 if found[1] else 0
                urls_left += found[1]
                continue
            kept = whole is None or len(rows) < whole
            rows.append((key, pk, value_hash(value), found, value if kept else None, new if kept else None))
        return {"rows": rows, "rows_left": rows_left, "urls_left": urls_left}
    except Exception as problem:
        return "%s: %s" % (type(problem).__name__, problem)


def write_model(model, fields, states, expected, dry_run, record, shown, hashes):
    """One model's fields in one transaction, from their readers' states; its lines printed once it
    committed.  (the fields' counts, the old media URLs left in each as the readers and the writes saw them)"""
    from django.db import router, transaction
    failed = next((state for field_states in states for state in field_states if isinstance(state, str)), None)
    if failed is not None:
        raise RuntimeError(failed)
    changed, counts, left = [], [], []
    with transaction.atomic(using=router.db_for_write(model)):
        for index, (field, kind) in enumerate(fields):
            count = {"field": label(model, field), "changed": 0, "skipped": []}
            remains = {"field": count["field"], "type": type(field).__name__,
                       "rows": sum(state[index]["rows_left"] for state in states),
                       "urls": sum(state[index]["urls_left"] for state in states)}
            planned = None if expected is None else expected.get(count["field"], {})
            writes = []
            for _key, pk, before_hash, found, value, new in sorted(
                    (row for state in states for row in state[index]["rows"]), key=lambda row: row[0]):
                if planned is not None and planned.get(str(pk)) != before_hash:
                    reason = "not in the dry run" if str(pk) not in planned else "changed since the dry run"
                    count["skipped"].append({"pk": pk, "why": reason})
                    remains["rows"] += 1
                    remains["urls"] += found[0] + found[1]
                    continue
                writes.append((pk, value, new, before_hash, found))
            done = [True] * len(writes) if dry_run else CompareAndSet(model, field).many(
                [(pk, value, new) for pk, value, new, _, _ in writes])
            for (pk, value, new, before_hash, found), applied in zip(writes, done):
                if not applied:
                    count["skipped"].append({"pk": pk, "why": "changed while rewriting"})
                    remains["rows"] += 1
                    remains["urls"] += found[0] + found[1]
                    continue
                remains["rows"] += 1 if found[1] else 0
                remains["urls"] += found[1]
                count["changed"] += 1
                changed.append((field.name, pk, value, new, before_hash))
            count["skipped_total"] = len(count["skipped"])
            count["skipped"] = count["skipped"][:NAMED_ROWS]
            if count["changed"] or count["skipped_total"]:
                counts.append(count)
            if remains["urls"]:
                left.append(remains)
        name = label(model)
        # The whole rows (before and after): for the record, and the first ``shown[0]`` for stdout.
        wanted = len(changed) if record is not None or shown[0] is None else min(shown[0], len(changed))
        lines = [json.dumps({"model": name, "field": field_name, "pk": pk, "before": value, "after": new,
                             "hash": before_hash}, default=str)
                 for field_name, pk, value, new, before_hash in changed[:wanted]]
        if record is not None and lines:
            record.write(lines)
    printing = lines if shown[0] is None else lines[:shown[0]]
    if shown[0] is not None:
        shown[0] -= len(printing)
    for line in printing:
        print(ROW_MARKER + line)
    if hashes:
        for field_name, pk, _, _, before_hash in changed:
            print(HASH_MARKER + json.dumps({"model": name, "field": field_name, "pk": pk, "hash": before_hash},
                                           default=str))
    return counts, left
