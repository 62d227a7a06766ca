"""Every program run on a host or in the site is a file: linted, Python 3.8, the stdlib at import, named once.

The programs are deploy/site/programs/ (run in the site's Python, or installed into the site) and
deploy/remote/scripts/ (run with the host's own python3).  The modules that send them read their text;
where a program is sent after another, or after a prelude of assignments, the names it expects are
marked ``noqa: F821`` in it, and the texts as sent are linted without those marks.  What each program
does is tested in test_site_programs.py and test_host_programs.py.
"""

import ast
import dataclasses
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import deploy
import deploy.remote.ssh
from deploy.config.types import HostSettings
from deploy.host_scripts import SCRIPTS, host_script
from deploy.site import site_python
from deploy.site.edits import content_urls as content_edits
from deploy.site.facts import content_urls, gunicorn, storage
from deploy.site.site_python import PROGRAMS, program

DEPLOY = Path(deploy.__file__).parent
FILES = sorted([*PROGRAMS.glob("*.py"), *(path for path in SCRIPTS.glob("*.py") if path.name != "__init__.py")])
# Programs that import Django at the top: they run only inside a site.
NEEDS_DJANGO = {"absolute_media.py", "media_mirror.py", "media_redirect.py", "reference_feed_loop.py", "reference_scan.py",
                "storage_probe.py"}
# What a site program may import inside its functions: the site's own packages.
SITE_PACKAGES = {"django", "easy_thumbnails", "sorl", "filer", "thumbnail_rows", "content_url_finder", "content_url_rows",
                 "content_url_parts", "content_url_rewrite"}
HOST = HostSettings(alias="web1", settings_path="~/site/local_settings.py", reload_command="true",
                    site_url="http://x", health_url=None, manage_py="~/site/manage.py",
                    site_python="/srv/venv/bin/python", settings_module="shop.settings.production")


def lint(*paths, select="F,E9", extra=(), stdin=None):
    """ruff's pyflakes checks and syntax errors, for the oldest Python a host may run."""
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", select,
               "--target-version", "py38", "--output-format", "concise", *extra, *map(str, paths)]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)


def test_the_programs_are_lint_clean():
    result = lint(PROGRAMS, SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_looks_at_every_program():
    shown = lint(PROGRAMS, SCRIPTS, extra=["--show-files"]).stdout
    assert FILES and all(str(path) in shown for path in FILES), shown


@pytest.mark.parametrize("line, rule", [("print(an_undefined_name)\n", "F821"), ("def broken(:\n", "")])
def test_the_lint_fails_on_an_undefined_name_or_a_syntax_error(tmp_path, line, rule):
    copy = tmp_path / "programs"
    shutil.copytree(PROGRAMS, copy)
    with open(copy / "run_manage_py.py", "a", encoding="utf-8") as broken:
        broken.write(line)
    result = lint(copy)
    assert result.returncode == 1 and "run_manage_py.py:" in result.stdout and rule in result.stdout


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_each_program_is_python_38_and_needs_only_the_stdlib_at_import(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 8))
    stdlib = set(sys.stdlib_module_names)
    at_import = top_modules(tree.body) - stdlib
    anywhere = top_modules(ast.walk(tree)) - stdlib
    if path.parent == SCRIPTS:
        assert anywhere == set(), "a host runs it with its own python3: the stdlib only"
    elif path.name in NEEDS_DJANGO:
        assert at_import <= {"django"} and anywhere <= SITE_PACKAGES
    else:
        assert at_import == set() and anywhere <= SITE_PACKAGES


def top_modules(nodes):
    return {name.split(".")[0] for node in nodes for name in
            ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
             [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])}


def test_each_program_is_named_once_in_deploy_and_sent_by_name():
    """A program is found by its file name: none shares it with another file of the package, and each
    is named by the module that sends it (an unused file would be a program nobody runs)."""
    names = [path.name for path in DEPLOY.rglob("*.py")]
    senders = "\n".join(path.read_text(encoding="utf-8") for path in DEPLOY.rglob("*.py")
                        if path.parent not in (PROGRAMS, SCRIPTS))
    for path in FILES:
        assert names.count(path.name) == 1, path.name
        assert f'"{path.name}"' in senders, f"no module of deploy/ sends {path.name}"


def test_the_host_programs_are_where_put_script_uploads_from():
    assert SCRIPTS == Path(deploy.remote.ssh.__file__).resolve().parent / "scripts"
    assert host_script("gunicorn_facts.py") == (SCRIPTS / "gunicorn_facts.py").read_text(encoding="utf-8")


def printed_markers(text: str) -> set[str]:
    """The constant each ``print(CONSTANT + ...)`` of a program starts its line with: a literal, or a name the
    program assigns a literal at its top level."""
    tree = ast.parse(text)
    constants = {node.targets[0].id: node.value.value for node in tree.body
                 if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                 and isinstance(node.value, ast.Constant)}
    lefts = [node.args[0].left for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print" and node.args
             and isinstance(node.args[0], ast.BinOp)]
    return {left.value if isinstance(left, ast.Constant) else constants.get(left.id) for left in lefts
            if isinstance(left, ast.Constant) or isinstance(left, ast.Name) and left.id in constants}


def test_the_markers_printed_are_those_the_reports_are_read_by():
    assert printed_markers(program("storage_probe.py")) == {storage.MARKER}
    assert printed_markers(host_script("gunicorn_facts.py")) == {gunicorn.MARKER}
    assert printed_markers(program("content_url_tool.py")) == {content_urls.MARKER}
    assert printed_markers(program("content_url_rows.py") + program("content_url_rewrite.py")) == {
        content_edits.ROW_MARKER, content_edits.HASH_MARKER}


def sent_programs(command: str) -> list[str]:
    """The program texts of a command line: every word after a ``-c``."""
    words = shlex.split(command.replace('"$HOME"', "HOME"))
    return [words[index + 1] for index, word in enumerate(words[:-1]) if word == "-c"]


@pytest.mark.parametrize("env_file, staged", [(None, False), ("~/site/.env", False), (None, True)])
def test_the_texts_as_sent_define_every_name_they_use(env_file, staged):
    """The storage probe's command: the loader before manage.py (LOAD_ENV_FILE or STAGED_SETTINGS, then
    RUN_MANAGE_PY), and the probe after its prelude and packages_report.py; linted without the noqa marks."""
    command = storage.probe_command(dataclasses.replace(HOST, settings_module=None), "USE_S3", env_file,
                                    staged=staged)
    texts = sent_programs(command)
    assert len(texts) == (2 if env_file or staged else 1)
    for text in texts:
        result = lint("-", select="F821,E9", extra=["--ignore-noqa", "--stdin-filename", "sent.py"], stdin=text)
        assert result.returncode == 0, result.stdout + result.stderr
    if staged:
        assert texts[0] == site_python.STAGED_SETTINGS + site_python.RUN_MANAGE_PY
    assert texts[-1].startswith("_THUMBNAILS_SCRIPT = ")


def test_the_content_url_program_as_sent_defines_every_name_it_uses():
    """Its three parts in one text (the finder, the rows, the tool), then main(...): linted without the noqa
    marks, so a name one part takes from another is defined by the text sent."""
    forms = content_urls.url_forms("/static/media/", ["https://www.example.com"])
    texts = sent_programs(content_urls.find_command(HOST, forms))
    assert len(texts) == 1 and texts[0].endswith("raise SystemExit(main(['find', '--media-url', '/static/media/', "
                                                 "'--host', 'www.example.com', '--names-limit', '1000']))\n")
    result = lint("-", select="F821,E9", extra=["--ignore-noqa", "--stdin-filename", "sent.py"], stdin=texts[0])
    assert result.returncode == 0, result.stdout + result.stderr
