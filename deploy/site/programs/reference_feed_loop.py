"""The site's database as a change feed: per line read on stdin, one pass over the FileField values.

Runs inside the site (``manage.py shell -c``) on the media host and stays open for the whole run;
deploy/site/ops/reference_feed.py sends it and writes one line a pass.  The first pass reads every
reference, later ones only the rows added since (by primary key, for models whose key is an integer).
Its parameter comes in a prelude the sender prepends, a plain assignment:

    MEDIA_ROOT = '~/webapps/media'   # repr() of MEDIA_ROOT; a leading ~/ is the SSH user's home

Writes "missing<TAB>name" for each referenced file not on disk, then "done<TAB><count>".  Needs Django:
the integration tests run it.
"""

import os, sys
from django.apps import apps
from django.db import models
root = os.path.expanduser(MEDIA_ROOT)  # noqa: F821 (the prelude)
fields = [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
          if isinstance(field, models.FileField)]
marks = {}
for request in sys.stdin:
    missing = 0
    for model, field in fields:
        rows = model._default_manager.exclude(**{field.name: ""}).exclude(**{field.name + "__isnull": True})
        ordered = isinstance(model._meta.pk, (models.AutoField, models.BigAutoField, models.IntegerField))
        key = (model._meta.label, field.name)
        if ordered and key in marks:
            rows = rows.filter(pk__gt=marks[key])
        for pk, name in rows.values_list("pk", field.name).iterator():
            if ordered and (key not in marks or pk > marks[key]):
                marks[key] = pk
            if not os.path.isfile(os.path.join(root, name)):
                missing += 1
                sys.stdout.write("missing\t" + name.replace("\n", " ") + "\n")
        if ordered:
            marks.setdefault(key, 0)
    sys.stdout.write("done\t%d\n" % missing)
    sys.stdout.flush()
