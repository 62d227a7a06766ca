"""The layering, as import-linter contracts (pyproject.toml, [tool.importlinter]).

Pure modules (the settings edit, the comparison, the sync tools' commands and
output, the policies, the provision plan, the rehearsal report, ...) import no
adapter (remote/, store/), not the task boundary (cli), and no SSH, S3 or HTTP
client library; the cutover and the rollback do not import each other; and the layers: the engine
imports nothing from the flows, the site, the media or the sync tools, which import nothing from the flows.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                "sys.exit(lint_imports_command())", "--no-cache"]


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT_IMPORTS, cwd=project, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


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
