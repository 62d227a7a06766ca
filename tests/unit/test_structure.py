"""The structure the code review asked to keep.

- No import cycles among the modules of deploy/ and of bench/: grimp (what import-linter builds its
  graph with) finds every import, at module level, inside functions and under TYPE_CHECKING; a cycle is
  a set of more than one module each of which imports every other, directly or not.
- No two modules of deploy/ share a file name, but for the packages' ``__init__.py``, the two
  ``errors.py`` (the project's, the store's) and one feature's ``facts/``, ``edits/`` and ``ops/``
  modules under deploy/site/.  The Django sites under deploy/sandbox/site/ and
  deploy/sandbox/shape_templates/ are whole sites of their own, not modules of the tool.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path, PurePosixPath

import grimp

ROOT = Path(__file__).resolve().parents[2]


SHARED_NAMES = {"errors.py": {"deploy/errors.py", "deploy/store/errors.py"}}
FEATURE_ROLES = {"facts", "edits", "ops"}                # deploy/site/<role>/<feature>.py
OTHER_SITES = ("deploy/sandbox/site/", "deploy/sandbox/shape_templates/")


def import_cycles(*packages: str) -> list[list[str]]:
    """The import cycles among the modules of ``packages``, each as its sorted module names; sorted."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    cycles = set()
    for module in graph.modules:
        both_ways = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if both_ways:
            cycles.add(frozenset(both_ways | {module}))
    return sorted(sorted(cycle) for cycle in cycles)


def shared_file_names(paths: list[str]) -> dict[str, list[str]]:
    """File name -> the modules (paths from the project root) that share it, those allowed left out."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        if not path.startswith(OTHER_SITES):
            by_name[PurePosixPath(path).name].append(path)
    shared = {}
    for name, places in sorted(by_name.items()):
        if len(places) < 2 or name == "__init__.py" or set(places) == SHARED_NAMES.get(name):
            continue
        roles = [PurePosixPath(place).parent for place in places]
        if all(role.parent == PurePosixPath("deploy/site") and role.name in FEATURE_ROLES for role in roles):
            continue   # one feature's facts/, edits/ and ops/ (each role one file, as a folder has)
        shared[name] = sorted(places)
    return shared


def deploy_modules() -> list[str]:
    return sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "deploy").rglob("*.py"))


# --- import cycles ---------------------------------------------------------------------------------------

def test_deploy_and_bench_have_no_import_cycles():
    for package in ("deploy", "bench"):   # this checkout's, not another's on the path
        assert Path(importlib.util.find_spec(package).origin).parent == ROOT / package
    cycles = [cycle for cycle in import_cycles("deploy", "bench")]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(cycle) for cycle in cycles)


def test_a_cycle_through_a_function_or_a_type_checking_import_is_found(tmp_path, monkeypatch):
    """Not vacuous: a small package with two cycles, one closed by an import inside a function,
    one by an import under TYPE_CHECKING; a module outside them stays out."""
    package = tmp_path / "cyclic_sample"
    package.mkdir()
    files = {
        "__init__.py": "",
        "one.py": "from . import two\n",
        "two.py": "def later():\n    from .one import something\n",
        "three.py": "from . import one, two\n",
        "four.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .five import Five\n",
        "five.py": "from .four import Four\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclic_sample") == [["cyclic_sample.five", "cyclic_sample.four"],
                                              ["cyclic_sample.one", "cyclic_sample.two"]]


# --- file names ------------------------------------------------------------------------------------------

def test_no_two_modules_of_deploy_share_a_file_name():
    assert shared_file_names(deploy_modules()) == {}


def test_a_shared_file_name_outside_the_allowed_ones_is_found():
    """Not vacuous: the allowed ones pass; the pair the restructure renamed (site/commands.py), a third
    errors.py and a name shared by a facts/ module and one outside deploy/site/ do not."""
    paths = ["deploy/__init__.py", "deploy/site/__init__.py", "deploy/errors.py", "deploy/store/errors.py",
             "deploy/site/facts/storage.py", "deploy/site/ops/storage.py",
             "deploy/site/facts/health.py", "deploy/site/edits/health.py", "deploy/site/ops/health.py",
             "deploy/sandbox/site/mediasite/settings.py", "deploy/sandbox/shape_templates/envfile/envsite/settings.py",
             "deploy/sync/commands.py", "deploy/site/commands.py",
             "deploy/site/facts/thumbnails.py", "deploy/rehearsal/thumbnails.py",
             "deploy/flows/errors.py"]
    assert shared_file_names(paths) == {
        "commands.py": ["deploy/site/commands.py", "deploy/sync/commands.py"],
        "errors.py": ["deploy/errors.py", "deploy/flows/errors.py", "deploy/store/errors.py"],
        "thumbnails.py": ["deploy/rehearsal/thumbnails.py", "deploy/site/facts/thumbnails.py"],
    }
