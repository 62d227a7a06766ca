"""The database's file references against a real Django and SQLite: programs/reference_scan.py run as
deploy/site/ops/references.py sends it (``manage.py shell -c`` after its prelude).

Besides FileFields, the scan counts file paths in CharFields (file-browser fields store them that way) by
the content finder's rule for a path field, copied into the scan (it is sent as text and imports nothing of
the project): the two copies are compared here on the same fields.
"""

import ast
import json
import subprocess

import pytest

from deploy.config.types import HostSettings
from deploy.site.ops import references
from deploy.site.site_python import PROGRAMS, manage_shell, prelude

from .site_django import MODELS, make_site, needs_django, site_python

pytestmark = needs_django

# MODELS' own (Post.image_path, Page.picture a FileBrowseField, summernote's Attachment...) and:
EXTRA = '''

class Photo(models.Model):                  # a FileField and its label
    title = models.CharField(max_length=200, blank=True)
    image = models.FileField(upload_to="uploads/")


class Folder(models.Model):                 # a file browser's paths
    path = FileBrowseField(max_length=200, blank=True, null=True)
    kind = models.CharField(max_length=20, blank=True, choices=[("a.png", "A"), ("b.png", "B")])
    contact = models.EmailField(blank=True)
    code = models.SlugField(blank=True)


class Gallery(Folder):                      # multi-table: Folder's fields stay Folder's
    cover = models.CharField(max_length=200, blank=True)


class FolderProxy(Folder):                  # a proxy's rows are Folder's: not counted twice
    class Meta:
        proxy = True
'''
SEED = '''
Photo.objects.create(title="uploads/a.png", image="uploads/a.png")
Photo.objects.create(title="uploads/gone.png", image="uploads/gone.png")
for path in ["uploads/a.png", "uploads/b c.png", "uploads/gone.png", "/uploads/a.png", " uploads/a.png",
             "uploads/../uploads/a.png", "uploads", "", None, "http://example.com/uploads/a.png",
             "uploads/a.png\\nuploads/b c.png"]:
    Folder.objects.create(path=path, kind="a.png", contact="a.png", code="a.png")
Gallery.objects.create(path="uploads/doc.pdf", cover="uploads/doc.pdf", kind="b.png")
Gallery.objects.create(cover="doc.pdf")
Post.objects.create(title="a.png", image_path="uploads/b c.png")
'''
FILES = ("uploads/a.png", "uploads/b c.png", "uploads/doc.pdf", "a.png", "b.png")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("references") / "site", "/media/", SEED, FILES, MODELS + EXTRA)


def scan(site):
    host = HostSettings(alias="media", settings_path=str(site / "settings.py"), reload_command="true",
                        site_url="http://127.0.0.1:8001", health_url=None, manage_py=str(site / "manage.py"),
                        site_python=site_python(), settings_module="settings")
    command = manage_shell(host, prelude(MEDIA_ROOT=str(site / "media")) + references.SCRIPT)
    done = subprocess.run(command, shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # Django 5.2's shell says what it imported on a line of its own: the adapter reads the tabbed lines only
    return [line for line in done.stdout.splitlines() if "\t" in line]


def test_the_scan_counts_file_fields_and_the_paths_in_charfields_whose_file_is_on_disk(site):
    *missing, counts = scan(site)
    assert missing == ["missing\tuploads/gone.png"]
    assert counts.startswith("counts\t")
    # Folder.path: a.png, "b c.png" and Gallery's doc.pdf (its parent's row); Gallery.cover: doc.pdf (the bare
    # "doc.pdf" is no file on disk); Post.image_path: "b c.png"; Post.title "a.png", a title that happens to
    # name a file on disk (the rule cannot tell: a harmless over-count, the file is in the tree the verify
    # compares).  Not counted: the label beside a FileField, the choices, the e-mail and slug fields, paths
    # that name nothing on disk or are not relative, a value of two lines.
    assert json.loads(counts.partition("\t")[2]) == {
        "references": 8, "missing_on_disk": 1, "path_references": 6,
        "path_fields": {"blog.Folder.path": 3, "blog.Gallery.cover": 1, "blog.Post.image_path": 1,
                        "blog.Post.title": 1},
        "path_fields_capped": [], "path_rows": 1000000}


def rule_of(name):
    """The module-level names a path field's rule needs (NOT_PATHS and path_field), from a program's text."""
    tree = ast.parse((PROGRAMS / name).read_text())
    wanted = [node for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name == "path_field"
              or isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NOT_PATHS" for t in node.targets)]
    assert len(wanted) == 2, name
    return ast.unparse(ast.Module(body=wanted, type_ignores=[]))


COMPARE = '''
import json, django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
sys.path.insert(0, ".")
django.setup()
from django.apps import apps
from django.db import models
scan, tool = {"models": models}, {}
exec(sys.argv[1], scan)
exec(sys.argv[2], tool)
from content_url_rows import text_fields
seen = {}
for model in apps.get_models():
    kinds = dict((field.name, kind) for field, kind in text_fields(model))
    for field in model._meta.local_concrete_fields:
        name = "%s.%s" % (model._meta.label, field.name)
        seen[name] = [scan["path_field"](field), field.name in kinds and tool["path_field"](field, kinds[field.name])]
print(json.dumps(seen))
'''


def test_the_scans_path_field_rule_is_the_content_finders(site):
    compare = subprocess.run([site_python(), "-c", COMPARE, rule_of("reference_scan.py"),
                              rule_of("content_url_tool.py")], cwd=site, capture_output=True, text=True, timeout=60,
                             env={"PYTHONPATH": str(PROGRAMS), "PATH": "/usr/bin:/bin"})
    assert compare.returncode == 0, compare.stderr
    seen = json.loads(compare.stdout)
    assert {name: rules for name, rules in seen.items() if rules[0] != rules[1]} == {}
    paths = sorted(name for name, (rule, _) in seen.items() if rule)
    assert paths == ["blog.Folder.path", "blog.Gallery.cover", "blog.Page.picture", "blog.Post.image_path",
                     "blog.Post.title"]
