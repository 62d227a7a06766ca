"""The layering, as import-linter contracts (pyproject.toml, [tool.importlinter]).

Pure modules (the settings edit, the comparison, the sync tools' commands and
output, the policies, the provision plan, the rehearsal report, ...) import no
adapter (remote/, store/), not the task boundary (cli), and no SSH, S3 or HTTP
client library; the cutover and the rollback do not import each other; and the layers: the engine
imports nothing from the flows, the site, the media or the sync tools, which import nothing from the flows.
"""

import shutil
import tomllib
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                "sys.exit(lint_imports_command())", "--no-cache"]


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT_IMPORTS, cwd=project, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_a_pure_module_that_imports_an_adapter_breaks_them(tmp_path):
    """Not vacuous: the same tree with one pure module reaching for the SSH adapter fails."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    commands = tmp_path / "deploy" / "sync" / "commands.py"
    commands.write_text(commands.read_text() + "\nfrom ..remote import ssh  # noqa: E402,F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deploy.sync.commands is not allowed to import deploy.remote" in result.stdout
    assert "deploy.sync.commands is not allowed to import paramiko" in result.stdout


def test_the_engine_importing_from_the_site_or_the_site_from_the_flows_breaks_the_layers(tmp_path):
    """Not vacuous: the same tree with the engine reaching for the site's database feed (the cycle there
    was), and the site for the flows' state, fails."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    run = tmp_path / "deploy" / "engine" / "run.py"
    run.write_text(run.read_text() + "\nfrom ..site.ops import reference_feed  # noqa: E402,F401\n")
    switch = tmp_path / "deploy" / "site" / "ops" / "switch.py"
    switch.write_text(switch.read_text() + "\nfrom ...flows import state  # noqa: E402,F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deploy.engine is not allowed to import deploy.site" in result.stdout
    assert "- deploy.engine.run -> deploy.site.ops.reference_feed" in result.stdout
    assert "deploy.site is not allowed to import deploy.flows" in result.stdout


# Modules that import no adapter but are adapters all the same, through the standard library: they touch
# files, processes or the network, so they stay out of the pure contract.
STDLIB_ADAPTERS = {
    "deploy.engine.journal": "writes and reads runs/",
    "deploy.engine.memory": "reads and resets /proc/self",
    "deploy.provision.record": "writes the provision record",
    "deploy.rehearsal.fetching": "the traffic's HTTP client, urllib.request",
    "deploy.rehearsal.timeline": "draws a picture file with matplotlib",
    "deploy.rehearsal.traffic": "HTTP traffic through urllib.request",
}
ADAPTERS = ("deploy.remote", "deploy.store", "deploy.cli", "deploy.sandbox",
            "boto3", "botocore", "fabric", "invoke", "paramiko", "urllib3")


def pure_sources() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [pure] = [contract for contract in config if contract["name"].startswith("pure modules")]
    return pure["source_modules"]


def uncovered_pure_modules(graph, sources: list[str]) -> list[str]:
    """Modules of deploy/ that reach no adapter, directly or not, and are neither a pure contract's source (a
    folder covers what is in it) nor a known stdlib adapter; package __init__ modules aside."""
    def within(module: str, names) -> bool:
        return any(module == name or module.startswith(name + ".") for name in names)

    found = []
    for module in sorted(graph.modules):
        if not module.startswith("deploy.") or within(module, ADAPTERS) or graph.find_children(module):
            continue
        if any(within(upstream, ADAPTERS) for upstream in graph.find_upstream_modules(module)):
            continue
        if not within(module, sources) and module not in STDLIB_ADAPTERS:
            found.append(module)
    return found


def test_every_module_that_imports_no_adapter_is_under_the_pure_contract():
    graph = grimp.build_graph("deploy", include_external_packages=True, cache_dir=None)
    assert uncovered_pure_modules(graph, pure_sources()) == []
    # Not vacuous: without the folder deploy.site.facts, each of its modules is found.
    without_facts = [source for source in pure_sources() if source != "deploy.site.facts"]
    assert "deploy.site.facts.storage" in uncovered_pure_modules(graph, without_facts)
