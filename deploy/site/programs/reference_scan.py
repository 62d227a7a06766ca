"""The files the site's database references and the media host's disk lacks: every FileField value of every model.

Runs inside the site (``manage.py shell -c``) on the media host; deploy/site/ops/references.py sends it.
Its parameter comes in a prelude the sender prepends, a plain assignment:

    MEDIA_ROOT = '~/webapps/media'   # repr() of MEDIA_ROOT; a leading ~/ is the SSH user's home

Prints "missing<TAB>name" for each reference whose file is not on disk, then
"counts<TAB>{"references": N, "missing_on_disk": M}".  Needs Django: the integration tests run it.
"""

import json, os
from django.apps import apps
from django.db import models
root = os.path.expanduser(MEDIA_ROOT)  # noqa: F821 (the prelude)
references = missing = 0
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
print("counts\t" + json.dumps({"references": references, "missing_on_disk": missing}))
