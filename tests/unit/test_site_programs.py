"""The programs run with the site's Python (deploy/site/programs/), run here as real processes.

Those that need no Django run as they are sent (``python -c TEXT``); those that do run against a
stand-in for the few Django APIs they touch (fake_django.py).  With a real Django, in the sandbox's
sites, the integration tests run them all, the storage probe among them.
"""

import json
import os
import subprocess
import sys

from deploy.site.facts import packages
from deploy.site.ops import reference_feed, references
from deploy.site.site_python import LOAD_ENV_FILE, RUN_MANAGE_PY, STAGED_SETTINGS, prelude, program

from .fake_django import run_program, write, write_db

SHOW = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"


def python_c(text, *arguments, env=None, stdin="", cwd=None):
    """``python -c TEXT ARGUMENTS``, as the site's Python is run before manage.py."""
    return subprocess.run([sys.executable, "-c", text, *map(str, arguments)], env={**os.environ, **(env or {})},
                          input=stdin, cwd=cwd, capture_output=True, text=True, timeout=60)


# --- before manage.py: env_file_loader.py, load_env_file.py, staged_settings.py, run_manage_py.py ----------

def test_env_file_lines_become_variables_as_systemd_reads_them_the_switches_winning():
    lines = ["# a comment", "  export USE_S3=true", 'QUOTED="a b" # c', "SINGLE='x # y'", "PLAIN=x # note",
             "#OFF=1", "KEPT=file", "MEDIA_MIRROR = on ", "EMPTY=", "not a line", "9BAD=1"]
    code = program("env_file_loader.py") + f"\nmedia_cutover_load_env({lines!r})\n" + SHOW
    environment = {"MEDIA_CUTOVER_SWITCH": "USE_S3", "MEDIA_CUTOVER_MIRROR_SWITCH": "MEDIA_MIRROR",
                   "USE_S3": "false", "MEDIA_MIRROR": "off", "KEPT": "process"}
    names = ["USE_S3", "QUOTED", "SINGLE", "PLAIN", "OFF", "KEPT", "MEDIA_MIRROR", "EMPTY", "9BAD"]
    result = python_c(code, *names, env=environment)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"USE_S3": "true", "QUOTED": "a b", "SINGLE": "x # y", "PLAIN": "x",
                                         "OFF": None, "KEPT": "process", "MEDIA_MIRROR": "on", "EMPTY": "",
                                         "9BAD": None}


def manage_py(tmp_path, body=""):
    """A stand-in manage.py that reports what it was started with."""
    (tmp_path / "manage.py").write_text(f"import json, os, sys\n{body}\n"
                                        "print(json.dumps({'argv': sys.argv, 'name': __name__, "
                                        "'USE_S3': os.environ.get('USE_S3'), "
                                        "'staged': os.environ.get('MEDIA_CUTOVER_STAGED'), "
                                        "'settings': globals().get('settings')}))\n")


def test_the_env_file_is_loaded_before_manage_py_runs_as_main_with_its_arguments(tmp_path):
    manage_py(tmp_path)
    (tmp_path / "site.env").write_text("USE_S3=true\n")
    result = python_c(LOAD_ENV_FILE + RUN_MANAGE_PY, "manage.py", "shell", "-c", "x", cwd=tmp_path,
                      env={"MEDIA_CUTOVER_ENV_FILE": str(tmp_path / "site.env"), "MEDIA_CUTOVER_SWITCH": "USE_S3",
                           "USE_S3": "false"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"argv": ["manage.py", "shell", "-c", "x"], "name": "__main__",
                                         "USE_S3": "true", "staged": None, "settings": None}


def test_staged_python_settings_are_imported_from_stdin_not_the_file_on_disk(tmp_path):
    (tmp_path / "local_settings.py").write_text("USE_S3 = False\n")
    manage_py(tmp_path, "import local_settings; settings = local_settings.USE_S3")
    staged = json.dumps({"format": "python", "path": str(tmp_path / "local_settings.py"),
                         "source": "USE_S3 = True\n"})
    result = python_c(STAGED_SETTINGS + RUN_MANAGE_PY, "manage.py", "check", cwd=tmp_path, stdin=staged)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"argv": ["manage.py", "check"], "name": "__main__", "USE_S3": None,
                                         "staged": "imported", "settings": True}
    assert (tmp_path / "local_settings.py").read_text() == "USE_S3 = False\n"
    assert not (tmp_path / "__pycache__").exists()  # no bytecode of the staged source left behind


def test_a_staged_env_file_is_loaded_as_the_file_would_be_the_switch_winning(tmp_path):
    manage_py(tmp_path)
    staged = json.dumps({"format": "env", "path": "~/site/.env", "source": "USE_S3=true\nOTHER=file\n"})
    result = python_c(STAGED_SETTINGS + RUN_MANAGE_PY, "manage.py", cwd=tmp_path, stdin=staged,
                      env={"MEDIA_CUTOVER_SWITCH": "USE_S3", "USE_S3": "false"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["USE_S3"] == "true" and json.loads(result.stdout)["staged"] == "environment"


# --- in the storage probe: packages_report.py ------------------------------------------------------------

def test_the_packages_report_says_what_imports_in_the_sites_environment(tmp_path):
    write(tmp_path)
    backends = tmp_path / "storages" / "backends"
    backends.mkdir(parents=True)
    (tmp_path / "storages" / "__init__.py").write_text("")
    (backends / "__init__.py").write_text("")
    (backends / "s3.py").write_text("import boto3\n")
    dist = tmp_path / "django_storages-1.14.4.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: django-storages\nVersion: 1.14.4\n")
    result = run_program(packages.REPORT_SOURCE + "\nimport json\nprint(json.dumps(site_packages()))\n", tmp_path,
                         settings={"INSTALLED_APPS": ["django.contrib.staticfiles"]})
    assert result.returncode == 0, result.stderr
    report = packages.from_data(json.loads(result.stdout), "web1")
    assert (report.django, report.storages_present, report.storages_version) == ("4.2.99", True, "1.14.4")
    assert report.boto3_error == "ModuleNotFoundError: No module named 'boto3'" == report.storages_error
    assert report.boto3_version is None and report.storages_in_installed_apps is False
    (problem,) = packages.problems(report)
    assert problem.startswith("web1: boto3 does not import in the site's environment")


# --- on the media host: reference_scan.py, reference_feed_loop.py -----------------------------------------

PHOTOS = {"label": "gallery.Photo", "pk": "auto", "files": ["image"],
          "rows": [{"pk": 1, "image": "photos/a.jpg"}, {"pk": 2, "image": "photos/gone.jpg"},
                   {"pk": 3, "image": ""}, {"pk": 4, "image": None}, {"pk": 5, "image": "new\nline.jpg"}]}
FILES = {"label": "docs.File", "pk": "char", "files": ["upload"],
         "rows": [{"pk": "x", "upload": "docs/gone.pdf"}, {"pk": "y", "upload": "docs/here.pdf"}]}
# A file-browser path in a CharField: counted when the whole value is a relative path to a file on disk.
PAGES = {"label": "pages.Page", "pk": "auto", "files": [], "paths": ["picture"],
         "rows": [{"pk": 1, "picture": "photos/a.jpg"}, {"pk": 2, "picture": "photos/gone.jpg"},
                  {"pk": 3, "picture": "/photos/a.jpg"}, {"pk": 4, "picture": " photos/a.jpg"},
                  {"pk": 5, "picture": "photos/../photos/a.jpg"}, {"pk": 6, "picture": "docs/here.pdf"},
                  {"pk": 7, "picture": None}, {"pk": 8, "picture": ""}, {"pk": 9, "picture": "photos"}]}


def media_tree(tmp_path):
    """MEDIA_ROOT ~/media, under a HOME of its own; returns that HOME."""
    media = tmp_path / "home" / "media"
    (media / "photos").mkdir(parents=True)
    (media / "docs").mkdir()
    (media / "photos" / "a.jpg").write_bytes(b"a")
    (media / "docs" / "here.pdf").write_bytes(b"d")
    return str(tmp_path / "home")


def test_the_reference_scan_counts_references_and_names_those_missing_on_disk(tmp_path, monkeypatch):
    write(tmp_path)
    monkeypatch.setenv("HOME", media_tree(tmp_path))
    db = write_db(tmp_path / "db.json", PHOTOS, FILES, PAGES)
    result = run_program(prelude(MEDIA_ROOT="~/media") + references.SCRIPT, tmp_path, db=db)
    assert result.returncode == 0, result.stderr
    *missing, counts = result.stdout.splitlines()
    assert missing == ["missing\tphotos/gone.jpg", "missing\tnew line.jpg", "missing\tdocs/gone.pdf"]
    assert counts.startswith("counts\t") and json.loads(counts.partition("\t")[2]) == {
        "references": 7, "missing_on_disk": 3, "path_references": 2, "path_fields": {"pages.Page.picture": 2},
        "path_fields_capped": [], "path_rows": 1000000}


def test_the_reference_scan_reads_a_path_fields_rows_up_to_its_limit_and_says_so(tmp_path, monkeypatch):
    write(tmp_path)
    monkeypatch.setenv("HOME", media_tree(tmp_path))
    db = write_db(tmp_path / "db.json", PAGES)
    script = references.SCRIPT.replace("PATH_ROWS = 1000000", "PATH_ROWS = 3")
    assert script != references.SCRIPT
    result = run_program(prelude(MEDIA_ROOT="~/media") + script, tmp_path, db=db)
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.splitlines()[-1].partition("\t")[2])
    # rows 1, 2, 3 contain a ".": only the first is a file on disk
    assert (counts["path_fields"], counts["path_fields_capped"]) == ({"pages.Page.picture": 1}, ["pages.Page.picture"])


def test_the_reference_feed_reads_only_the_rows_added_since_its_previous_pass(tmp_path, monkeypatch):
    write(tmp_path)
    monkeypatch.setenv("HOME", media_tree(tmp_path))
    db = write_db(tmp_path / "db.json", PHOTOS, FILES)
    feed = subprocess.Popen([sys.executable, "-S", "-c", prelude(MEDIA_ROOT="~/media") + reference_feed.SCRIPT],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path), "FAKE_DJANGO_DB": str(db)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def one_pass():
        feed.stdin.write("pass\n")
        feed.stdin.flush()
        lines = []
        while not lines or not lines[-1].startswith("done\t"):
            lines.append(feed.stdout.readline().rstrip("\n"))
        return lines
    try:
        assert one_pass() == ["missing\tphotos/gone.jpg", "missing\tnew line.jpg", "missing\tdocs/gone.pdf", "done\t3"]
        # Added since: a row past the mark is read; one below it (an integer key) is not; a model without
        # an integer key is read whole every pass.
        added = {**PHOTOS, "rows": PHOTOS["rows"] + [{"pk": 9, "image": "photos/late.jpg"},
                                                     {"pk": 0, "image": "photos/old.jpg"}]}
        write_db(db, added, FILES)
        assert one_pass() == ["missing\tphotos/late.jpg", "missing\tdocs/gone.pdf", "done\t2"]
        assert one_pass() == ["missing\tdocs/gone.pdf", "done\t1"]
    finally:
        feed.stdin.close()
        assert feed.wait(timeout=30) == 0


def test_the_prelude_is_plain_assignments_of_the_values_repr():
    assert prelude(MEDIA_ROOT="~/it's media", OTHER="x") == "MEDIA_ROOT = \"~/it's media\"\nOTHER = 'x'\n"
    assert prelude() == ""


# --- installed into the site: absolute_media.py (the e-mail template tag) ----------------------------------

def test_the_tag_makes_relative_urls_absolute_with_the_request_or_site_url(tmp_path):
    write(tmp_path)
    calls = """
class Request:
    def build_absolute_uri(self, path):
        return "https://shop.example" + path


class FieldFile:
    url = "/media/photos/a.jpg"


import json
print(json.dumps([
    absolute_url({"request": Request()}, "/media/a.jpg"),
    absolute_url({}, FieldFile()),
    absolute_url({"request": Request()}, "https://bucket.s3.amazonaws.com/media/a.jpg"),
    absolute_url({"request": None}, "//cdn.example.com/a.jpg"),
    absolute_static({}, "img/logo.png"),
]))
"""
    result = run_program(program("absolute_media.py") + calls, tmp_path,
                         settings={"SITE_URL": "https://mail.example/", "STATIC_URL": "/static/"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "https://shop.example/media/a.jpg", "https://mail.example/media/photos/a.jpg",
        "https://bucket.s3.amazonaws.com/media/a.jpg", "https://cdn.example.com/a.jpg",
        "https://mail.example/static/img/logo.png"]
