"""Old media URLs the site's content stores (rich text, pasted links, JSON): found, rewritten, put back.

    SITE_PYTHON content_url_tool.py find [--media-url URL] [--host HOST ...] [--media-root DIR] [--names-limit N]
                                         [--storage-urls] [--chars]
    SITE_PYTHON content_url_tool.py rewrite [--media-url URL] [--host HOST ...] [--dry-run] [--record FILE]
                                            [--record-reserve BYTES] [--shown N] [--hashes] < PLAN
    SITE_PYTHON content_url_tool.py restore < RECORD
    SITE_PYTHON content_url_tool.py storage-urls < NAMES

with DJANGO_SETTINGS_MODULE set and the site's directory on sys.path; or as the text of ``manage.py shell
-c``: content_url_finder.py, content_url_rows.py, this file, then ``raise SystemExit(main([...]))``
(deploy/site/facts/content_urls.py builds it).  --media-url is the disk MEDIA_URL, a path or an absolute
URL (default settings.MEDIA_URL while it is a path: after the switch it is the bucket's); --host, each
host its absolute form was served from (the site's, OLD_MEDIA_HOSTS); --media-root, the disk (default
settings.MEDIA_ROOT, a leading ~ the user's home).

- find: every text-like field of every concrete model's own table, filtered by the database (``contains``
  on the media path; content_url_rows.candidates), then parsed here (content_url_finder.Forms).  A
  CharField whose whole value is the relative path of a file under the media root is a file reference too
  (a file browser's field; not one of a model with a FileField: the file's label): counted apart (form "path"), never rewritten (a name, rendered through
  MEDIA_URL: it follows the switch).  One line: MARKER {"fields": [{"field": "app.Model.field", "form":
  "url" | "path", "rows", "urls", "examples", "names" (up to --names-limit, 0: all), "names_total",
  "on_disk", "missing_on_disk", "foreign_hosts", "on_storage" (URLs on the storage's own hosts: "storage_hosts",
  MEDIA_URL's and the default storage's), ...}], "storage_hosts": [...], "errors": [...]}; with --storage-urls,
  "storage": what storage-urls says of the URL-form names listed; with --chars, "chars": each URL-form field's
  characters in its candidate rows (the room a rewrite's record takes is judged by them).
- rewrite: content_url_rewrite.py; restore: content_url_rows.py.
- storage-urls: NAMES is a JSON list; prints the default storage's class, whether it is on disk, and the
  URL it gives each name now.

stdout's last line is MARKER + JSON (settings modules and Django's shell print lines of their own).  Exit 0:
done; 1: refused or failed (the JSON has "error"; a model whose transaction failed was rolled back); 2: usage.
Python 3.8+, the stdlib and Django only.
"""

import argparse
import json
import os
import sys
import traceback
from urllib.parse import urlsplit

MARKER = "MEDIA-CUTOVER-CONTENT "
# A CharField whose whole value may be a file's path relative to MEDIA_ROOT: no scheme, not absolute, an
# extension.  A regex every Django database runs (SQLite through Django's own REGEXP function).
PATH_VALUE = r'^[^/<>":][^<>":]*\.[A-Za-z0-9]{1,8}$'
NOT_PATHS = ("EmailField", "URLField", "SlugField")

if "Forms" not in globals():  # run as a file: its parts are the modules beside it
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from content_url_finder import Forms, name_of, strings  # noqa: E402
    from content_url_parts import EXAMPLES, Tally, in_parts, parts_wanted, share  # noqa: E402
    from content_url_rows import (RECORD_RESERVE, Refused, candidate_chars, candidates,  # noqa: E402
                                  content_models, label, restore, text_fields)
    from content_url_rewrite import rewrite  # noqa: E402


def find(args, forms):
    root = os.path.expanduser(args.media_root)
    present = {}

    def on_disk(name):
        if name not in present:
            present[name] = os.path.isfile(os.path.join(root, name))
        return present[name]

    fields = [(model, field, kind) for model in content_models() for field, kind in text_fields(model)]

    def read(part, parts):  # every field's share of its candidate rows: (label, state or error)
        return [tally_share(model, field, kind, forms, on_disk, part, parts) for model, field, kind in fields]

    def meanwhile():  # the parent, while the shares are read: the storage's hosts, the path fields, the sizes
        return storage_hosts(forms), [scan_paths(model, field, on_disk, args.names_limit)
                                      for model, field, kind in fields if path_field(field, kind)], \
            chars(fields, forms) if args.chars else None

    shares, (hosts, paths, sizes) = in_parts(parts_wanted(), read, meanwhile)
    reports, errors = [], []
    for index, (model, field, kind) in enumerate(fields):
        states = [share[index] for share in shares]
        failed = next((state for state in states if isinstance(state, str)), None)
        if failed is not None:  # an unmanaged model's missing table, a database's refusal
            errors.append({"field": label(model, field), "error": failed})
            continue
        urls = Tally.merged(states)
        if urls.report["rows"] or urls.report["foreign_hosts"]:
            reports.append(urls.done(args.names_limit, hosts))
        reports += [report for report in paths if report["field"] == label(model, field)]
    found = {"media_url": forms.path, "hosts": sorted(forms.hosts), "relative": forms.relative, "media_root": root,
             "storage_hosts": hosts, "fields_scanned": len(fields), "fields": reports, "errors": errors}
    if sizes is not None:
        found["chars"] = dict((report["field"], sizes.get(report["field"], 0)) for report in reports
                              if report["form"] == "url" and report["rows"])
    if args.storage_urls:  # the rewrite's next question, answered by this start-up: each URL-form name's URL now
        found["storage"] = storage_report(sorted({name for report in reports if report["form"] == "url"
                                                  for name in report["names"]}))
    return found


def chars(fields, forms):
    """Each text field's characters in its candidate rows (``candidate_chars``); a field the database cannot
    sum is left out (its reading says why)."""
    sizes = {}
    for model, field, kind in fields:
        try:
            sizes[label(model, field)] = candidate_chars(model, field, kind, forms)
        except Exception:
            pass
    return sizes


def storage_hosts(forms):
    """The hosts the site's media are served from now (settings.MEDIA_URL's when absolute, the default
    storage's URLs'), not the old ones: after a rewrite the content holds URLs on them, which are neither
    old media URLs nor another host's to name in OLD_MEDIA_HOSTS."""
    from django.conf import settings
    hosts = [urlsplit(str(settings.MEDIA_URL)).netloc]
    try:
        from django.core.files.storage import default_storage
        hosts.append(urlsplit(default_storage.url("media-cutover")).netloc)
    except Exception:  # a storage that needs credentials, or fails: MEDIA_URL says it, or nothing does
        pass
    return sorted(set(host.lower() for host in hosts if host) - forms.hosts)


def tally_share(model, field, kind, forms, on_disk, part, parts):
    """One field's share of its candidate rows, tallied: the Tally's state, or the failure's message."""
    quoted, occurrences = kind == "json", forms.occurrences
    try:
        urls = Tally(label(model, field), type(field).__name__, "url")
        report = urls.report
        for key, _pk, value in share(candidates(model, field, kind, forms), part, parts):
            report["candidates"] += 1
            found = [urls.add(occurrence, key, on_disk) for text in strings(value)
                     for occurrence in occurrences(text, quoted)]
            report["rows"] += any(found)
        return urls.state()
    except Exception as problem:
        return "%s: %s" % (type(problem).__name__, problem)


def scan_paths(model, field, on_disk, limit):
    """A path field's values that name a file under the media root (a file browser's), as a report."""
    paths = Tally(label(model, field), type(field).__name__, "path")
    try:
        values = model._base_manager.filter(**{field.attname + "__regex": PATH_VALUE})
        for key, value in enumerate(values.values_list(field.attname, flat=True).iterator()):
            paths.report["candidates"] += 1
            if name_of(value) == value and on_disk(value):
                paths.report["rows"] += 1
                paths.report["urls"] += 1
                paths.names.setdefault(value, (key, True))
                if value not in paths.examples and len(paths.examples) < EXAMPLES:
                    paths.examples[value] = key
    except Exception:  # its field's reading says why (the same table)
        return {"field": None}
    return paths.done(limit) if paths.report["rows"] else {"field": None}


def path_field(field, kind):
    """A CharField that may hold a bare file path: not an e-mail, URL or slug, not a choice, and not of a
    model with a FileField."""
    from django.db.models import CharField, FileField
    if any(isinstance(other, FileField) for other in field.model._meta.concrete_fields):
        # The model's file is its FileField; a CharField beside it is the file's label (django-summernote's
        # Attachment.name, django-filer's original_filename: "photo.png"), which names a file under
        # MEDIA_ROOT only by chance, and is not rendered through MEDIA_URL.
        return False
    return kind == "text" and isinstance(field, CharField) and not field.choices \
        and type(field).__name__ not in NOT_PATHS


def storage_urls(args, forms):
    return storage_report(json.loads(sys.stdin.read() or "[]"))


def storage_report(names):
    """The default storage's class, whether it is on disk, and the URL it gives each of ``names`` now."""
    from django.core.files.storage import default_storage
    from django.utils.functional import empty
    if default_storage._wrapped is empty:
        default_storage._setup()
    storage = default_storage._wrapped
    try:
        storage.path("media-cutover")
        local = True
    except NotImplementedError:
        local = False
    return {"backend": "%s.%s" % (type(storage).__module__, type(storage).__name__), "local": local,
            "urls": dict((name, storage.url(name)) for name in names)}


def forms_of(args):
    from django.conf import settings
    media_url = args.media_url or str(settings.MEDIA_URL)
    if not args.media_url and "//" in media_url:
        raise Refused("settings.MEDIA_URL is %s: pass --media-url, where the disk served the media (after a "
                      "switch MEDIA_URL is the bucket's)" % media_url)
    try:
        return Forms(media_url, args.host)
    except ValueError as problem:
        raise Refused(str(problem))


def parser():
    parser = argparse.ArgumentParser(prog="content_url_tool.py")
    commands = parser.add_subparsers(dest="command")
    commands.required = True
    for name in ("find", "rewrite"):
        command = commands.add_parser(name)
        command.add_argument("--media-url", help="the disk MEDIA_URL (default settings.MEDIA_URL)")
        command.add_argument("--host", action="append", default=[], help="a host it was served from (repeat)")
        if name == "find":
            command.add_argument("--media-root", help="default settings.MEDIA_ROOT")
            command.add_argument("--names-limit", type=int, default=1000, help="names listed a field; 0: all")
            command.add_argument("--storage-urls", action="store_true",
                                 help="also the default storage's URL for each name listed (as storage-urls)")
            command.add_argument("--chars", action="store_true",
                                 help="also each field's characters in the rows holding old media URLs")
        else:
            command.add_argument("--dry-run", action="store_true")
            command.add_argument("--record", help="append the rows changed to this new file (mode 600)")
            command.add_argument("--record-reserve", type=int, default=RECORD_RESERVE,
                                 help="bytes the record leaves free on its filesystem (a model that would take "
                                      "more is rolled back)")
            command.add_argument("--shown", type=int, help="print the whole of at most this many rows (default all)")
            command.add_argument("--hashes", action="store_true", help="print each row's model, field, pk and hash")
    commands.add_parser("restore")
    commands.add_parser("storage-urls")
    return parser


def start_django():
    """Django set up: run as a file; or under a manage.py shell whose settings failed to import (it runs the
    command all the same, with nothing set up)."""
    from django.apps import apps
    if not apps.ready:
        import django
        django.setup()


def not_started(problem):
    """One line: the site's Django could not start, why, and what to check in the tool's configuration."""
    why = " ".join(("%s: %s" % (type(problem).__name__, problem)).split())
    return ("the site's Django did not start under DJANGO_SETTINGS_MODULE=%s (%s): check the host's MANAGE_PY, "
            "SITE_PYTHON (the site's virtualenv) and DJANGO_SETTINGS_MODULE"
            % (os.environ.get("DJANGO_SETTINGS_MODULE", "(not set)"), why))


def main(argv):
    args = parser().parse_args(argv)
    try:
        start_django()
    except Exception as problem:  # the site's package, or a module its settings import, is not importable
        traceback.print_exc()
        print(MARKER + json.dumps({"command": args.command, "error": not_started(problem)}))
        return 1
    try:
        forms = forms_of(args) if args.command in ("find", "rewrite") else None
        if args.command == "find" and not args.media_root:
            from django.conf import settings
            args.media_root = str(settings.MEDIA_ROOT)
        run = {"find": find, "rewrite": rewrite, "restore": restore, "storage-urls": storage_urls}[args.command]
        result = run(args, forms)
    except Exception as problem:
        if not isinstance(problem, Refused):
            traceback.print_exc()
            problem = "%s: %s" % (type(problem).__name__, problem)
        print(MARKER + json.dumps({"command": args.command, "error": str(problem)}))
        return 1
    result["command"] = args.command
    print(MARKER + json.dumps(result, default=str, sort_keys=True))
    return 1 if result.get("error") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
