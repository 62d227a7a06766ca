"""The package as a wheel installs it, not only an editable checkout: the scripts put on the hosts and the
sandbox's Django site are in it (pyproject's package data), found where the code looks, and they run."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def test_the_wheel_holds_the_host_scripts_and_the_sandbox_site_and_they_run(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT / "deploy", source / "deploy", ignore=IGNORED)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("media_cutover-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    site = {path.relative_to(ROOT).as_posix() for path in (ROOT / "deploy" / "sandbox" / "site").rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}
    assert site and site <= names
    assert {"deploy/remote/scripts/media_manifest.py", "deploy/remote/scripts/write_settings.py"} <= names
    programs = {path.relative_to(ROOT).as_posix() for folder in ("site/programs", "remote/scripts")
                for path in (ROOT / "deploy" / folder).glob("*.py")}
    assert "deploy/site/programs/storage_probe.py" in programs and programs <= names  # read at import, sent

    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    tree = tmp_path / "media"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "b.jpg").write_bytes(b"12345")
    probe = f"""
import subprocess, sys
from pathlib import Path
import deploy, deploy.remote.ssh as ssh, deploy.sandbox.sites as sites
assert Path(deploy.__file__).is_relative_to({str(installed)!r}), deploy.__file__
scripts = Path(ssh.__file__).parent / "scripts"   # where put_script reads them
assert (sites.TEMPLATE / "manage.py").is_file() and (sites.TEMPLATE / "mediasite" / "settings.py").is_file()
listed = subprocess.run([sys.executable, str(scripts / "media_manifest.py"), "--order", "bytes", {str(tree)!r}],
                        capture_output=True, text=True, check=True).stdout
usage = subprocess.run([sys.executable, str(scripts / "write_settings.py")], capture_output=True, text=True)
print(listed, usage.returncode)
"""
    ran = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(installed)!r})\n{probe}"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.split("\n")[0] == "5\ta/b.jpg" and ran.stdout.split()[-1] == "2"
