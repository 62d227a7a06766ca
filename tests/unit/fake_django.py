"""A stand-in for the few Django APIs the site's programs touch, so that their own logic runs here.

``write(root)`` puts a package ``django`` under ``root``; run the program with ``run_program``
(``python -S``, ``root`` on PYTHONPATH: neither the project's packages nor a real Django are seen).
The settings come from the JSON in FAKE_DJANGO_SETTINGS; the models and their rows from the JSON file
FAKE_DJANGO_DB names, read at each query, so that a test can add rows between two passes:

    {"models": [{"label": "gallery.Photo", "pk": "auto" | "char", "files": ["image"], "paths": ["path"],
                 "rows": [{"pk": 1, "image": "photos/a.jpg"}]}]}

(each model has a CharField "title" too; "paths" names more CharFields, of a model without "files")

What the programs do with a real Django (the ORM's SQL, a real site's settings) is the integration
tests' part.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = {
    "__init__.py": '''
VERSION = (4, 2, 99, "final", 0)


def get_version():
    return "4.2.99"
''',
    "conf.py": '''
import json
import os


class _Settings:
    def __init__(self, values):
        self.__dict__.update(values)


settings = _Settings(json.loads(os.environ.get("FAKE_DJANGO_SETTINGS", "{}")))
''',
    "db/__init__.py": "",
    "db/models.py": '''
class Field:
    def __init__(self, name, primary_key=False, choices=None):
        self.name = self.attname = name
        self.primary_key, self.choices = primary_key, choices


class FileField(Field):
    pass


class CharField(Field):
    pass


class IntegerField(Field):
    pass


class AutoField(Field):
    pass


class BigAutoField(AutoField):
    pass
''',
    "apps.py": '''
import json
import os

from .db import models


def _rows(label):
    with open(os.environ["FAKE_DJANGO_DB"], encoding="utf-8") as db:
        return next(model for model in json.load(db)["models"] if model["label"] == label)["rows"]


def _matches(row, lookup, value):
    name, _, operator = lookup.partition("__")
    field = row.get(name)
    if operator == "isnull":
        return (field is None) == value
    if operator == "gt":
        return field is not None and field > value
    if operator == "contains":
        return field is not None and value in field
    return field == value


class _QuerySet:
    def __init__(self, label, tests=()):
        self.label, self.tests = label, tests

    def filter(self, **lookups):
        return _QuerySet(self.label, self.tests + tuple(
            (lambda row, lookup=lookup: _matches(row, *lookup)) for lookup in lookups.items()))

    def exclude(self, **lookups):
        return _QuerySet(self.label, self.tests + tuple(
            (lambda row, lookup=lookup: not _matches(row, *lookup)) for lookup in lookups.items()))

    def order_by(self, *names):
        return self

    def values_list(self, *names, flat=False):
        return _Values(self, names, flat)


class _Values:
    def __init__(self, queryset, names, flat, stop=None):
        self.queryset, self.names, self.flat, self.stop = queryset, names, flat, stop

    def __getitem__(self, limit):
        return _Values(self.queryset, self.names, self.flat, limit.stop)

    def iterator(self):
        rows = [row for row in _rows(self.queryset.label) if all(test(row) for test in self.queryset.tests)]
        for row in rows[:self.stop]:
            values = tuple(row.get(name) for name in self.names)
            yield values[0] if self.flat else values


class _Meta:
    def __init__(self, model):
        self.label = model["label"]
        self.proxy = False
        self.pk = (models.AutoField if model["pk"] == "auto" else models.CharField)("id", primary_key=True)
        self.concrete_fields = [self.pk, models.CharField("title")] + [models.FileField(name)
                                                                       for name in model["files"]]
        self.concrete_fields += [models.CharField(name) for name in model.get("paths", ())]
        self.local_concrete_fields = self.concrete_fields


class _Model:
    def __init__(self, model):
        self._meta = _Meta(model)
        for field in self._meta.concrete_fields:
            field.model = self
        self._default_manager = self._base_manager = _QuerySet(model["label"])


class _Apps:
    @staticmethod
    def get_models():
        with open(os.environ["FAKE_DJANGO_DB"], encoding="utf-8") as db:
            return [_Model(model) for model in json.load(db)["models"]]


apps = _Apps()
''',
    "template.py": '''
class Library:
    def simple_tag(self, takes_context=False):
        return lambda function: function
''',
    "templatetags/__init__.py": "",
    "templatetags/static.py": '''
from django.conf import settings


def static(path):
    return getattr(settings, "STATIC_URL", "/static/") + path
''',
}


def write(root: Path) -> Path:
    for name, text in PACKAGE.items():
        path = root / "django" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"))
    return root


def write_db(path: Path, *models: dict) -> Path:
    path.write_text(json.dumps({"models": list(models)}))
    return path


def environment(root: Path, settings: dict | None = None, db: Path | None = None) -> dict:
    return {**os.environ, "PYTHONPATH": str(root), "FAKE_DJANGO_SETTINGS": json.dumps(settings or {}),
            **({"FAKE_DJANGO_DB": str(db)} if db else {})}


def run_program(text: str, root: Path, settings: dict | None = None, db: Path | None = None,
                stdin: str = "") -> subprocess.CompletedProcess:
    """``text`` run as ``python -S -c TEXT`` in ``root``, with the stand-in Django importable."""
    return subprocess.run([sys.executable, "-S", "-c", text], cwd=root, env=environment(root, settings, db),
                          input=stdin, capture_output=True, text=True, timeout=60)
