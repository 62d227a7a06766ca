"""pyflakes' checks (ruff's F rules) over the whole project: an undefined name, a name read before its
assignment, an unused import.  The bench's reseed once read a local before assigning it (F823) and every
bench that reseeds failed before it started; nothing else ran that line.  F811 is left out: the tests
import pytest fixtures by name, which it takes for a redefinition."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")


def ruff(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([RUFF, "check", "--no-cache", "--select", "F", "--ignore", "F811", "--output-format",
                           "concise", *paths], cwd=ROOT, capture_output=True, text=True)


def test_the_project_has_no_undefined_or_unused_names():
    result = ruff("deploy", "bench", "tasks.py", "dev_tasks.py", "fabfile.py", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_finds_a_local_read_before_its_assignment(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def seeded():\n    return 1\n\n\ndef f():\n    if seeded():\n        return\n    seeded = 2\n")
    result = ruff(str(sample))
    if result.returncode == 0:
        pytest.fail("ruff found nothing in a function reading a local before assigning it")
    assert "F823" in result.stdout
