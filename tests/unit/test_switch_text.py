"""The switch in either format (deploy/site/edits/switch.py): one interface over the Python and env edits."""

from __future__ import annotations

import subprocess

import pytest

from deploy.errors import SettingsFileError
from deploy.site.edits.switch import (Found, Switch, diff, disk_settings, find, set_value, spelled, state,
                                     writable_command, write_problem)

PY, ENV = Switch("USE_S3", "python"), Switch("USE_S3", "env")
SOURCE_PY = "DEBUG = False\nUSE_S3 = False\n"
SOURCE_ENV = "# storage\nAWS_SECRET_ACCESS_KEY=s3cr3t\nUSE_S3=no  # media-cutover flips this\nAWS_LOCATION=media\n"


def test_the_format_chooses_the_edit():
    assert find(SOURCE_PY, "p", PY) == Found(False, 2, ("True", "False"))
    assert find(SOURCE_ENV, "p", ENV) == Found(False, 3, ("yes", "no"))
    assert set_value(SOURCE_PY, "p", PY, True) == "DEBUG = False\nUSE_S3 = True\n"
    assert set_value(SOURCE_ENV, "p", ENV, True) == SOURCE_ENV.replace("USE_S3=no", "USE_S3=yes")
    with pytest.raises(SettingsFileError, match="USE_S3 is computed `no`"):
        find(SOURCE_ENV, "p", PY)  # read as Python, `no` is a name
    with pytest.raises(SettingsFileError, match="found none"):
        find("USE_S3: bool = False\n", "p", ENV)  # Python, no env line


def test_the_name_is_the_configured_one_in_both_formats():
    other_py, other_env = Switch("MEDIA_ON_S3", "python"), Switch("MEDIA_ON_S3", "env")
    assert set_value("USE_S3 = True\nMEDIA_ON_S3 = False\n", "p", other_py, True) == \
        "USE_S3 = True\nMEDIA_ON_S3 = True\n"
    assert set_value("USE_S3=1\nMEDIA_ON_S3=0\n", "p", other_env, True) == "USE_S3=1\nMEDIA_ON_S3=1\n"


def test_an_unknown_format_is_a_bug():
    with pytest.raises(ValueError):
        Switch("USE_S3", "yaml")


@pytest.mark.parametrize("switch, found, shown", [
    (PY, Found(False, 2, ("True", "False")), "USE_S3 = False (Python file)"),
    (ENV, Found(True, 3, ("true", "false")), "USE_S3=true (env file)"),
    (ENV, Found(False, 3, ("on", "off")), "USE_S3=off (env file)"),
    (Switch("MEDIA_ON_S3", "env"), Found(False, 1, ("1", "0")), "MEDIA_ON_S3=0 (env file)"),
])
def test_the_switch_is_shown_as_its_file_spells_it_with_the_format(switch, found, shown):
    assert state(switch, found) == shown


def test_spelled_without_a_file_spelling():
    assert (spelled(PY, True), spelled(ENV, False)) == ("USE_S3 = True", "USE_S3=false")


def test_an_env_files_diff_shows_only_the_switch_line_a_python_files_has_context():
    new = set_value(SOURCE_ENV, "p", ENV, True)
    shown = diff(SOURCE_ENV, new, "web1:~/.env", ENV)
    assert "s3cr3t" not in shown and "AWS_LOCATION" not in shown
    assert shown.splitlines()[2:] == ["@@ -3 +3 @@", "-USE_S3=no  # media-cutover flips this",
                                      "+USE_S3=yes  # media-cutover flips this"]
    assert "DEBUG = False" in diff(SOURCE_PY, set_value(SOURCE_PY, "p", PY, True), "p", PY)


def test_the_rollback_of_an_env_file_takes_the_identical_backup_else_the_minimal_edit():
    on = SOURCE_ENV.replace("USE_S3=no", "USE_S3=yes")
    backups = [(".env.media-cutover-20260101T000000Z-aaaaaa.bak", SOURCE_ENV.replace("media\n", "old\n")),
               (".env.media-cutover-20260102T000000Z-bbbbbb.bak", SOURCE_ENV)]
    assert disk_settings(on, "p", backups, ENV) == (
        SOURCE_ENV, "restored from its backup .env.media-cutover-20260102T000000Z-bbbbbb.bak")
    edited = on + "NEW=1\n"
    assert disk_settings(edited, "p", backups, ENV) == (
        SOURCE_ENV + "NEW=1\n", "set USE_S3=no (no backup matches the current file)")
    assert disk_settings(SOURCE_ENV, "p", [], ENV) == (SOURCE_ENV, "already USE_S3=no")
    with pytest.raises(SettingsFileError, match="found 2"):
        disk_settings(on + "USE_S3=no\n", "p", backups, ENV)


def test_the_rollback_of_a_python_file_is_settings_files():
    assert disk_settings("USE_S3 = True\n", "p", [("b", "USE_S3 = False\n")], PY) == (
        "USE_S3 = False\n", "restored from its backup b")


# --- whether the deploy user can replace the file ---------------------------------------------

MARK = "media-cutover-writable"


@pytest.mark.parametrize("output, problem", [
    (f"{MARK} 1000|1000 27|1000|1000|600|w|w|w|\n", None),
    (f"{MARK} 0|0|1000|5678|400|w|w|w|\n", None),  # root writes anything, keeps any owner
    (f"{MARK} 1000|1000|1000|1000|400|-|w|w|\n",
     "web1: ~/.env is read-only for the deploy user (uid 1000, mode 0400); nothing was changed: make it "
     "writable by its owner (chmod u+w ~/.env), the cutover keeps its mode"),
    (f"{MARK} 1000|1000|1000|1000|600|w|-|w|\n",
     "web1: the deploy user (uid 1000) cannot create files beside ~/.env, where its new version and its backup "
     "are made; nothing was changed: make the directory writable for that user"),
    (f"{MARK} 1000|1000|1000|1000|600|w|w|-|\n", "cannot create files beside ~/.env"),
    (f"{MARK} 1000|1000|33|1000|660|w|w|w|\n", "web1: ~/.env belongs to 33:1000, which the deploy user (uid 1000) "
                                               "cannot keep on the new file"),
    (f"{MARK} 1000|1000|1000|33|660|w|w|w|\n", "belongs to 1000:33"),
    ("stat: cannot stat\n", "web1: cannot tell whether ~/.env can be written (the probe printed "
                            "'stat: cannot stat')"),
])
def test_what_stops_the_write_is_one_line(output, problem):
    found = write_problem(output, "web1", "~/.env")
    if problem is None:
        assert found is None
    else:
        assert problem in found and "\n" not in found, found


def test_the_probe_runs_in_a_posix_shell_and_reads_a_real_file(tmp_path):
    path = tmp_path / "dir" / ".env"
    path.parent.mkdir()
    path.write_text("USE_S3=false\n")
    link = tmp_path / "link.env"
    link.symlink_to(path)
    for probe in (path, link):
        output = subprocess.run(["sh", "-c", writable_command(str(probe))], capture_output=True, text=True,
                                check=True).stdout
        assert write_problem(output, "web1", str(probe)) is None, output
        assert output.startswith(MARK + " ") and output.count("|") == 8
