"""easy_thumbnails' rows moved from one storage's hash to another's, and put back (the rows' part of thumbnails.py).

easy_thumbnails keys its ``Source`` and ``Thumbnail`` rows by ``storage_hash`` (the md5 of the
storage's class path) and, with a remote storage, trusts only those rows: after a switch every
thumbnail regenerates on first view unless its rows carry the new storage's hash.  A thumbnail is
fresh when ``Source.modified <= Thumbnail.modified``, and easy_thumbnails itself moves
``Source.modified`` to "now" at each thumbnail it saves, so on a disk-served site a source's older
thumbnails already look stale by their rows (disk storage compares file times instead): moving the
hash alone regenerated 10 of 20 (issue 12).  So the move also raises ``Thumbnail.modified`` to its
source's ``modified`` where it is lower.

Both directions run in one transaction through the ORM, with ``QuerySet.update()``: one statement a
group, no ``save()`` (the fields have no ``auto_now``; ``default=timezone.now`` applies to inserts
only, and no model signal runs).  The record lists every original value of every row changed or
deleted, so that ``restore_easy`` puts them back with the same ids and values (rows the site
made since are left as they are, except a source under a key a recorded one goes back to:
``make_room``).
"""

import datetime
import json
import os
import tempfile

SOURCE_FIELDS = ("id", "storage_hash", "name", "modified")
THUMBNAIL_FIELDS = ("id", "storage_hash", "name", "modified", "source_id")
DIMENSION_FIELDS = ("id", "thumbnail_id", "width", "height")
CHUNK = 500  # ids per IN (...): under every database's limit on query parameters


class Refused(Exception):
    """Stop with this one-line message; nothing was changed."""


def easy_models():
    from easy_thumbnails import models
    return models.Source, models.Thumbnail, getattr(models, "ThumbnailDimensions", None)


def chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def fetch(model, fields, **lookup):
    """Rows as dicts, by id; a ``*__in`` list in ``lookup`` is queried a chunk at a time."""
    many = [key for key in lookup if key.endswith("__in")]
    batches = [dict(lookup, **{many[0]: chunk}) for chunk in chunks(lookup[many[0]])] if many else [lookup]
    found = []
    for batch in batches:
        found += [dict(row) for row in model.objects.filter(**batch).values(*fields).order_by("id")]
    return found


def update(model, ids, **values):
    for chunk in chunks(ids):
        model.objects.filter(pk__in=chunk).update(**values)


def plan(hashes):
    """What moves where: (source updates, merged sources, thumbnail moves, duplicates, modified raises)."""
    Source, Thumbnail, _ = easy_models()
    source_from, source_to, thumbnail_from, thumbnail_to = hashes
    moving = fetch(Source, SOURCE_FIELDS, storage_hash=source_from)
    targets = {} if source_from == source_to else {
        row["name"]: row for row in fetch(Source, SOURCE_FIELDS, storage_hash=source_to,
                                          name__in=sorted(set(row["name"] for row in moving)))}
    # A source that exists under the new hash already (an earlier cutover and rollback) is merged into it.
    final = {row["id"]: targets.get(row["name"], row) for row in moving}
    merged = [row for row in moving if final[row["id"]]["id"] != row["id"]]
    stays = [row for row in moving if final[row["id"]]["id"] == row["id"]]
    modified = {row["id"]: row["modified"] for row in stays + list(targets.values())}
    thumbnails = fetch(Thumbnail, THUMBNAIL_FIELDS, source_id__in=[row["id"] for row in moving]
                       + [row["id"] for row in targets.values()])

    def key(row):
        source = final[row["source_id"]]["id"] if row["source_id"] in final else row["source_id"]
        return (thumbnail_to if row["storage_hash"] == thumbnail_from else row["storage_hash"],
                row["name"], source)

    def current(row):
        return (row["storage_hash"], row["name"], row["source_id"])

    # Rows that keep their key first: a moving row that lands on a taken key is a duplicate.
    taken, moves, duplicates = {}, [], []
    for row in sorted(thumbnails, key=lambda row: (key(row) != current(row), row["id"])):
        if key(row) in taken:
            duplicates.append(row)
        else:
            taken[key(row)] = row
            if key(row) != current(row):
                moves.append((row, key(row)))
    raises = [(row, modified[source]) for (_, _, source), row in taken.items()
              if row["modified"] < modified[source]]
    return ([] if source_from == source_to else stays), merged, moves, duplicates, raises


def write_record(path, record):
    """Mode 600, complete or not at all: a temporary file beside it, fsynced, then renamed."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    handle, temporary = tempfile.mkstemp(prefix=".thumbnail-record-", dir=directory)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(record, out, default=lambda value: value.isoformat(), indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def migrate_easy(args):
    from django.db import router, transaction
    Source, Thumbnail, Dimensions = easy_models()
    hashes = (args.from_hash, args.to_hash, args.thumbnails_from_hash or args.from_hash,
              args.thumbnails_to_hash or args.to_hash)
    database, record_file = router.db_for_write(Source), os.path.expanduser(args.record)
    with transaction.atomic(using=database):
        stays, merged, moves, duplicates, raises = plan(hashes)
        counts = {"sources_moved": len(stays), "sources_merged": len(merged), "thumbnails_moved": len(moves),
                  "thumbnails_merged": len(duplicates), "thumbnails_refreshed": len(raises)}
        if os.path.exists(record_file):
            if any(counts.values()):
                raise Refused("the record %s exists already: restore it (restore-easy) or move it away, "
                              "then migrate again" % args.record)
            return {"changed": False, "counts": counts, "record": args.record}
        dimensions = (fetch(Dimensions, DIMENSION_FIELDS, thumbnail_id__in=[row["id"] for row in duplicates])
                      if Dimensions else [])
        changed = {row["id"]: row for row, _ in moves}
        changed.update((row["id"], row) for row, _ in raises if row["id"] not in changed)
        record = {"format": 1, "database": database, "hashes": dict(zip(
                      ("from", "to", "thumbnails_from", "thumbnails_to"), hashes)), "counts": counts,
                  "sources": {"updated": stays, "deleted": merged},
                  "thumbnails": {"updated": sorted(changed.values(), key=lambda row: row["id"]),
                                 "deleted": duplicates},
                  "dimensions": {"deleted": dimensions}}
        for chunk in chunks([row["id"] for row in duplicates]):
            Thumbnail.objects.filter(pk__in=chunk).delete()  # their dimensions rows go too (recorded)
        groups = {}
        for row, (storage_hash, _, source) in moves:
            groups.setdefault((storage_hash, source), []).append(row["id"])
        for (storage_hash, source), ids in groups.items():
            update(Thumbnail, ids, storage_hash=storage_hash, source_id=source)
        update(Source, [row["id"] for row in stays], storage_hash=hashes[1])
        for chunk in chunks([row["id"] for row in merged]):
            Source.objects.filter(pk__in=chunk).delete()  # their thumbnails moved above: nothing cascades
        levels = {}
        for row, level in raises:
            levels.setdefault(level, []).append(row["id"])
        for level, ids in levels.items():
            update(Thumbnail, ids, modified=level)
        # Written before the commit: a record of a change that then failed to commit restores to the same rows.
        write_record(record_file, record)
    return {"changed": any(counts.values()), "counts": counts, "record": args.record}


def parsed(row):
    return dict(row, modified=datetime.datetime.fromisoformat(row["modified"])) if "modified" in row else dict(row)


def put_back(model, fields, deleted, updated, parent=None):
    """Recreate ``deleted`` rows, set ``updated`` ones back; rows gone since (deleted by the site) stay gone.

    ``parent`` (model, field): recreate a row only while the row it belongs to exists."""
    rows = {row["id"]: parsed(row) for row in list(deleted) + list(updated)}
    present = set(row["id"] for row in fetch(model, ("id",), id__in=sorted(rows)))
    parents = set()
    if parent:
        wanted = sorted(set(row[parent[1]] for row in rows.values()))
        parents = set(row["id"] for row in fetch(parent[0], ("id",), id__in=wanted))
    recreate = [row for row in map(parsed, deleted) if row["id"] not in present and
                (not parent or row[parent[1]] in parents)]
    for row in rows.values():
        if row["id"] in present:
            model.objects.filter(pk=row["id"]).update(**{name: row[name] for name in fields if name != "id"})
    model.objects.bulk_create([model(**row) for row in recreate])
    back = present.union(row["id"] for row in recreate)
    return {row_id: row for row_id, row in rows.items() if row_id in back}, len(rows) - len(back)


def make_room(record):
    """Take in the sources the site made since the move under a key a recorded source goes back to.

    Between the move and the reload the old workers still serve from disk: a thumbnail one of them
    saves makes a new ``Source`` under the disk's hash, where the undo puts a moved one back.  Its
    thumbnails join the recorded source (one that would repeat a key is dropped), then it goes.
    Returns how many such sources were taken in."""
    Source, Thumbnail, _ = easy_models()
    recorded = record.get("sources", {}).get("deleted", []) + record.get("sources", {}).get("updated", [])
    goes_back = dict(((row["storage_hash"], row["name"]), row["id"]) for row in recorded)
    newcomers = dict((row["id"], goes_back[(row["storage_hash"], row["name"])]) for row in
                     fetch(Source, SOURCE_FIELDS, name__in=sorted(set(name for _, name in goes_back)))
                     if goes_back.get((row["storage_hash"], row["name"]), row["id"]) != row["id"])
    if not newcomers:
        return 0
    thumbnails = dict((row["id"], row) for row in fetch(Thumbnail, THUMBNAIL_FIELDS,
                                                        source_id__in=sorted(set(newcomers.values()))))
    thumbnails.update((row["id"], row) for part in ("deleted", "updated")
                      for row in record.get("thumbnails", {}).get(part, []))
    taken = set((row["storage_hash"], row["name"], row["source_id"]) for row in thumbnails.values())
    for row in fetch(Thumbnail, THUMBNAIL_FIELDS, source_id__in=sorted(newcomers)):
        key = (row["storage_hash"], row["name"], newcomers[row["source_id"]])
        if key in taken:
            Thumbnail.objects.filter(pk=row["id"]).delete()
        else:
            Thumbnail.objects.filter(pk=row["id"]).update(source_id=key[2])
            taken.add(key)
    for chunk in chunks(sorted(newcomers)):
        Source.objects.filter(pk__in=chunk).delete()
    return len(newcomers)


def restore_easy(args):
    from django.db import router, transaction
    Source, Thumbnail, Dimensions = easy_models()
    try:
        with open(os.path.expanduser(args.record), encoding="utf-8") as source:
            record = json.load(source)
    except (OSError, ValueError) as problem:
        raise Refused("cannot read the record %s: %s" % (args.record, problem))
    counts, restored = {}, []
    with transaction.atomic(using=router.db_for_write(Source)):
        counts["sources_taken_in"] = make_room(record)
        for model, fields, part, parent in ((Source, SOURCE_FIELDS, "sources", None),
                                            (Thumbnail, THUMBNAIL_FIELDS, "thumbnails", (Source, "source_id")),
                                            (Dimensions, DIMENSION_FIELDS, "dimensions", (Thumbnail, "thumbnail_id"))):
            if model is None:
                continue
            rows, gone = put_back(model, fields, record.get(part, {}).get("deleted", []),
                                  record.get(part, {}).get("updated", []), parent)
            counts[part + "_restored"], counts[part + "_gone"] = len(rows), gone
            restored.append((model, fields, rows))
        for model, fields, rows in restored:  # exactly as recorded, or nothing is committed
            if {row["id"]: row for row in fetch(model, fields, id__in=sorted(rows))} != rows:
                raise Refused("the %s rows did not read back as recorded: nothing was restored"
                              % model._meta.db_table)
    return {"changed": any(counts[part + "_restored"] for part in ("sources", "thumbnails", "dimensions")),
            "counts": counts, "record": args.record}
