"""easy_thumbnails and sorl-thumbnail as the site sees them, run with the site's own Python and settings.

    SITE_PYTHON thumbnail_tool.py detect
    SITE_PYTHON thumbnail_tool.py migrate-easy --from-hash H1 --to-hash H2
                 [--thumbnails-from-hash T1 --thumbnails-to-hash T2] --record FILE
    SITE_PYTHON thumbnail_tool.py restore-easy --record FILE
    SITE_PYTHON thumbnail_tool.py sorl-cost [--sample N]

with DJANGO_SETTINGS_MODULE set and the site's directory on sys.path; or as the text of
``manage.py shell -c``, this file followed by ``raise SystemExit(main([...]))``
(``deploy/site/facts/thumbnails.py`` builds that line).  The rows' part lives in
``thumbnail_rows.py`` beside it, prepended to this text in that form.

stdout gets one line ``MEDIA-CUTOVER-THUMBNAILS {json}`` (a marker: settings modules and
Django 5.2's shell print lines of their own).  Exit 0: done; 1: refused or failed, nothing
changed (the JSON has "error"); 2: usage.  Python 3.8+, stdlib and the site's packages only.
"""

import argparse
import json
import os
import sys
import traceback

MARKER = "MEDIA-CUTOVER-THUMBNAILS "
# The first views after a storage change, as measured with sorl-thumbnail 13.4 and django-storages
# 1.14.6 (issue 12): 3 HEAD and 1 PUT per thumbnail, 1 GET per source image.
SORL_HEADS_PER_THUMBNAIL, SORL_PUTS_PER_THUMBNAIL, SORL_GETS_PER_SOURCE = 3, 1, 1

if "migrate_easy" not in globals():  # run as a file: the rows' part is the module beside it
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from thumbnail_rows import Refused, migrate_easy, restore_easy  # noqa: E402


def class_path(storage):
    """The storage's real class as easy_thumbnails and sorl name it (module + __name__)."""
    from django.utils.functional import LazyObject, empty
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        storage = storage._wrapped
    return "%s.%s" % (type(storage).__module__, type(storage).__name__), storage


def describe(storage):
    backend, storage = class_path(storage)
    try:
        storage.path("media-cutover")
        local = True
    except NotImplementedError:
        local = False
    location = getattr(storage, "location", None)
    return {"backend": backend, "local": local,
            "location": os.path.realpath(location) if local and isinstance(location, str) else location,
            "bucket": getattr(storage, "bucket_name", None),
            # A remote storage's url() may sign: only a local one's base URL is shown.
            "url": str(getattr(storage, "base_url", None)) if local else None}


def version(distribution):
    try:
        from importlib.metadata import version as installed_version
        return installed_version(distribution)
    except Exception:
        return None


def mismatch(library, setting, thumbnails, default, fix):
    """One line when thumbnails would be written to one storage and the media live in the other."""
    if thumbnails["local"] == default["local"]:
        return None
    if thumbnails["local"]:
        where = "on disk in %s, linked at %s" % (thumbnails["location"], thumbnails["url"])
    else:
        where = "to %s" % thumbnails["backend"]
    return ("%s would write new thumbnails %s (%s -> %s) while the default storage is %s: %s in the block the "
            "switch guards (`invoke settings-snippet` prints one)"
            % (library, where, setting, thumbnails["backend"], default["backend"], fix))


def detect_easy(default):
    from django.apps import apps
    from django.conf import settings
    found = {"installed": False, "version": version("easy-thumbnails")}
    if not apps.is_installed("easy_thumbnails"):
        return found
    try:
        from django.db.models import Count
        from easy_thumbnails import models, storage as easy_storage
        from easy_thumbnails.conf import settings as easy_settings
        from easy_thumbnails.utils import get_storage_hash
    except Exception as problem:
        return dict(found, error="%s: %s" % (type(problem).__name__, problem))
    alias = getattr(easy_settings, "THUMBNAIL_DEFAULT_STORAGE_ALIAS", None)
    thumbnails = describe(easy_storage.thumbnail_default_storage)
    thumbnails["hash"] = get_storage_hash(easy_storage.thumbnail_default_storage)
    storages = getattr(settings, "STORAGES", {})
    setting = ("STORAGES[%r]" % alias if alias in storages else
               "STORAGES['default'] (no STORAGES[%r])" % alias if alias else "THUMBNAIL_DEFAULT_STORAGE")

    def per_hash(model):
        rows = model.objects.values("storage_hash").annotate(rows=Count("id")).order_by("storage_hash")
        return {row["storage_hash"]: row["rows"] for row in rows}

    dimensions = getattr(models, "ThumbnailDimensions", None)
    return dict(found, installed=True, alias=alias, alias_in_storages=alias in storages,
                storage=thumbnails, source_hash=get_storage_hash(default_storage()),
                legacy_setting=getattr(settings, "THUMBNAIL_DEFAULT_STORAGE", None),
                check_cache_miss=bool(getattr(easy_settings, "THUMBNAIL_CHECK_CACHE_MISS", False)),
                sources=per_hash(models.Source), thumbnails=per_hash(models.Thumbnail),
                dimensions=dimensions.objects.count() if dimensions else None,
                mismatch=mismatch("easy_thumbnails", setting, thumbnails, default,
                                  "make %s follow STORAGES['default']" % setting))


def kv_items(kvstore, prefix):
    """(raw key, raw value) of every key-value row under ``prefix``: one query for the database store."""
    if getattr(kvstore, "_cached_db_kvstore", False):
        from sorl.thumbnail.models import KVStore
        return KVStore.objects.filter(key__startswith=prefix).values_list("key", "value").iterator()
    return ((key, kvstore._get_raw(key)) for key in kvstore._find_keys_raw(prefix))


def sorl_rows():
    """sorl's key-value store: its image rows (sources and thumbnails) and thumbnail lists."""
    from sorl.thumbnail import default
    from sorl.thumbnail.conf import settings as sorl_settings
    from sorl.thumbnail.images import ImageFile
    prefix = sorl_settings.THUMBNAIL_KEY_PREFIX
    images = {key.split("||")[-1]: json.loads(value)
              for key, value in kv_items(default.kvstore, prefix + "||image||") if value}
    lists = {key.split("||")[-1]: json.loads(value) or []
             for key, value in kv_items(default.kvstore, prefix + "||thumbnails||") if value}
    listed = set(key for keys in lists.values() for key in keys)
    thumbnails = {key: images[key]["name"] for key in listed if key in images}
    # A row is live when its key is the one the thumbnail storage gives its name now; the
    # others were made under another storage class (before a switch) and are never read again.
    live = set(key for key, name in thumbnails.items() if ImageFile(name, default.storage).key == key)
    sources_live = sum(1 for keys in lists.values() if live.intersection(keys))
    return {"rows": len(images) + len(lists), "images": len(images) - len(thumbnails),
            "thumbnail_lists": len(lists), "thumbnails": len(thumbnails), "live": live,
            "names": thumbnails, "sources_live": sources_live}


def count_files(storage_facts, prefix):
    if not storage_facts["local"] or not storage_facts["location"]:
        return None  # a bucket is not listed for this: the names are in the rows
    top = os.path.join(storage_facts["location"], prefix)
    return sum(len(files) for _, _, files in os.walk(top))


def detect_sorl(default):
    """(what sorl-thumbnail uses and holds, its key-value rows); rows None when it is not there."""
    from django.apps import apps
    found = {"installed": False, "version": version("sorl-thumbnail")}
    if not apps.is_installed("sorl.thumbnail"):
        return found, None
    try:
        from sorl.thumbnail import default as sorl_default
        from sorl.thumbnail.conf import settings as sorl_settings
        rows = sorl_rows()
    except Exception as problem:
        return dict(found, error="%s: %s" % (type(problem).__name__, problem)), None
    thumbnails = describe(sorl_default.storage)
    prefix = sorl_settings.THUMBNAIL_PREFIX
    return dict(found, installed=True, setting=sorl_settings.THUMBNAIL_STORAGE, storage=thumbnails,
                kvstore=sorl_settings.THUMBNAIL_KVSTORE, prefix=prefix, rows=rows["rows"],
                images=rows["images"], thumbnails=rows["thumbnails"], live_thumbnails=len(rows["live"]),
                thumbnail_files=count_files(thumbnails, prefix),
                mismatch=mismatch("sorl-thumbnail", "THUMBNAIL_STORAGE = %r" % sorl_settings.THUMBNAIL_STORAGE,
                                  thumbnails, default, "set THUMBNAIL_STORAGE = 'default'")), rows


def detect_filer(default):
    """django-filer's public storages.  It builds them from FILER_STORAGES, whose ENGINE follows
    STORAGES['default']'s BACKEND but whose OPTIONS are its own: an S3 default configured only by its
    OPTIONS leaves filer's S3Storage without a bucket."""
    from django.apps import apps
    found = {"installed": False, "version": version("django-filer")}
    if not apps.is_installed("filer"):
        return found
    try:
        from filer import settings as filer_settings
        files = describe(filer_settings.FILER_PUBLICMEDIA_STORAGE)
        thumbnails = describe(filer_settings.FILER_PUBLICMEDIA_THUMBNAIL_STORAGE)
    except Exception as problem:
        return dict(found, error="%s: %s" % (type(problem).__name__, problem))
    setting = "FILER_STORAGES['public']"
    return dict(found, installed=True, files=files, thumbnails=thumbnails,
                mismatch=mismatch("django-filer", setting + "['main']", files, default,
                                  "make %s follow STORAGES['default']" % setting)
                or mismatch("django-filer", setting + "['thumbnails']", thumbnails, default,
                            "make %s follow STORAGES['default']" % setting))


def default_storage():
    from django.core.files.storage import default_storage as storage
    return storage


def detect(args):
    import django
    default = describe(default_storage())
    return {"django": django.get_version(), "settings_module": os.environ.get("DJANGO_SETTINGS_MODULE"),
            "default": default, "easy_thumbnails": detect_easy(default), "sorl": detect_sorl(default)[0],
            "filer": detect_filer(default)}


def sorl_cost(args):
    """What the first views cost once sorl's thumbnail names change (a switch of the storage class)."""
    facts, rows = detect_sorl(describe(default_storage()))
    if facts.get("error"):
        raise Refused("sorl-thumbnail does not load: " + facts["error"])
    if rows is None:
        return {"sorl": facts, "regenerate": 0, "sources": 0, "orphaned_rows": 0,
                "requests": {"HEAD": 0, "GET": 0, "PUT": 0, "total": 0}, "dead": {"count": 0, "sample": []}}
    live = len(rows["live"])
    requests = {"HEAD": SORL_HEADS_PER_THUMBNAIL * live, "PUT": SORL_PUTS_PER_THUMBNAIL * live,
                "GET": SORL_GETS_PER_SOURCE * rows["sources_live"]}
    requests["total"] = sum(requests.values())
    dead = sorted(rows["names"][key] for key in rows["live"])
    return {"sorl": facts, "regenerate": live, "sources": rows["sources_live"], "requests": requests,
            # Orphaned already: rows made under another storage class (a thumbnail made on S3, after a rollback).
            "orphaned_rows": rows["thumbnails"] - live,
            "dead": {"count": len(dead), "sample": dead[:max(args.sample, 0)]}}


def setup_django():
    from django.apps import apps
    if not apps.ready:  # run as a file; under manage.py shell Django is set up already
        import django
        django.setup()


def main(argv):
    parser = argparse.ArgumentParser(prog="thumbnail_tool.py")
    commands = parser.add_subparsers(dest="command")
    commands.required = True
    commands.add_parser("detect")
    migrate = commands.add_parser("migrate-easy")
    migrate.add_argument("--from-hash", required=True)
    migrate.add_argument("--to-hash", required=True)
    migrate.add_argument("--thumbnails-from-hash", help="default: --from-hash")
    migrate.add_argument("--thumbnails-to-hash", help="default: --to-hash")
    migrate.add_argument("--record", required=True)
    restore = commands.add_parser("restore-easy")
    restore.add_argument("--record", required=True)
    cost = commands.add_parser("sorl-cost")
    cost.add_argument("--sample", type=int, default=20, help="dead names shown (default 20)")
    args = parser.parse_args(argv)
    setup_django()
    run = {"detect": detect, "migrate-easy": migrate_easy, "restore-easy": restore_easy,
           "sorl-cost": sorl_cost}[args.command]
    try:
        result = run(args)
    except Exception as problem:  # a database error too: the transaction was rolled back
        if not isinstance(problem, Refused):
            traceback.print_exc()
            problem = "%s: %s" % (type(problem).__name__, problem)
        print(MARKER + json.dumps({"command": args.command, "error": str(problem)}))
        return 1
    result["command"] = args.command
    print(MARKER + json.dumps(result, default=str, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
