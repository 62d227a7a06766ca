"""The files the site's database references and the media host's disk lacks: every FileField value of every
model, and the file paths in CharFields (file-browser fields store a path under MEDIA_ROOT as plain text).

Runs inside the site (``manage.py shell -c``) on the media host; deploy/site/ops/references.py sends it.
Its parameter comes in a prelude the sender prepends, a plain assignment:

    MEDIA_ROOT = '~/webapps/media'   # repr() of MEDIA_ROOT; a leading ~/ is the SSH user's home

A path CharField is the content finder's (content_url_tool.py's path_field, copied here: this program is
sent as text and imports nothing of the project; a unit test keeps the two in agreement): a CharField
without choices, not an e-mail, URL or slug field, of a model without a FileField (beside one, a CharField
is the file's label, not a path).  Its value is a file reference when the whole value is a relative file
path (no leading "/", no "://", no ".." segment, no surrounding whitespace or newline, a "." in its last
segment) AND that file is on disk.  A value that names nothing on disk is not counted: a CharField is
text, and "v1.2" or "see notes.txt" name no file; the site stores its files on disk until the switch, so
a path whose file is not there is no file the cutover could lose (and the verify compares the whole tree
with the bucket, so every file on disk is covered, whichever field names it).  Only rows whose value
contains a "." are read (in the database), at most PATH_ROWS a field.

Prints "missing<TAB>name" for each FileField reference whose file is not on disk, then
"counts<TAB>{"references": N, "missing_on_disk": M, "path_references": P, "path_fields": {"app.Model.field": n},
"path_fields_capped": ["app.Model.field"], "path_rows": PATH_ROWS}": N counts both kinds, P those in
CharFields (all on disk), path_fields_capped the fields whose first PATH_ROWS rows alone were read.  Needs Django: the integration
tests run it.
"""

import json, os
from django.apps import apps
from django.db import models

PATH_ROWS = 1000000
NOT_PATHS = ("EmailField", "URLField", "SlugField")


def path_field(field):
    """A CharField that may hold a bare file path (content_url_tool.py's path_field, for a field of the
    model's own table): not an e-mail, URL or slug, not a choice, and not of a model with a FileField."""
    if any(isinstance(other, models.FileField) for other in field.model._meta.concrete_fields):
        return False
    return isinstance(field, models.CharField) and not field.primary_key and not field.choices \
        and type(field).__name__ not in NOT_PATHS


def path_value(value):
    """The whole value looks like a relative file path under MEDIA_ROOT."""
    last = value.rsplit("/", 1)[-1]
    return bool(value) and value == value.strip() and "\n" not in value and "://" not in value \
        and not value.startswith("/") and "." in last and ".." not in value.split("/")


root = os.path.expanduser(MEDIA_ROOT)  # noqa: F821 (the prelude)
references = missing = paths = 0
path_fields, capped = {}, []
for model in apps.get_models():
    for field in model._meta.concrete_fields:
        if not isinstance(field, models.FileField):
            continue
        names = (model._default_manager.exclude(**{field.name: ""}).exclude(**{field.name + "__isnull": True})
                 .values_list(field.name, flat=True).iterator())
        for name in names:
            references += 1
            if not os.path.isfile(os.path.join(root, name)):
                missing += 1
                print("missing\t" + name.replace("\n", " "))
    if model._meta.proxy:
        continue  # its rows are its concrete model's
    for field in model._meta.local_concrete_fields:  # an inherited field is its parent's table's
        if not path_field(field):
            continue
        name = "%s.%s" % (model._meta.label, field.name)
        # contains "." leaves out "" and NULL as well; no ordering: the database reads them as they lie
        rows = (model._base_manager.filter(**{field.attname + "__contains": "."}).order_by()
                .values_list(field.attname, flat=True)[:PATH_ROWS])
        read = found = 0
        for value in rows.iterator():
            read += 1
            if isinstance(value, str) and path_value(value) and os.path.isfile(os.path.join(root, value)):
                found += 1
        if read >= PATH_ROWS:
            capped.append(name)
        if found:
            path_fields[name] = found
            paths += found
print("counts\t" + json.dumps({"references": references + paths, "missing_on_disk": missing,
                               "path_references": paths, "path_fields": path_fields,
                               "path_fields_capped": capped, "path_rows": PATH_ROWS}))
