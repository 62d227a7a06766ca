"""The site-packages check: the report's parsing and judging, and the remote command."""

import json
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config.load import load_settings
from deploy.engine.run import Run
from deploy.errors import PreflightError
from deploy.config.types import HostSettings
from deploy.site import packages
from deploy.site.packages import MARKER, SiteReport, check_site_packages, parse_report, problems

from .fake_results import Result

GOOD = {"django": "5.2.19", "storages_present": True, "storages_error": None, "storages_version": "1.14.6",
        "boto3_error": None, "boto3_version": "1.44.5", "storages_in_installed_apps": False}


def report(**changes) -> SiteReport:
    return SiteReport(host="web1", **{**GOOD, **changes})


def test_the_marked_line_is_found_among_other_output():
    output = f"6 objects imported automatically\n{MARKER}{json.dumps(GOOD)}\n"
    assert parse_report(output, "web1") == report()


def test_no_report_names_the_host_and_shows_the_tail():
    with pytest.raises(PreflightError, match=r"web1: the site check printed no report \(Traceback \| boom\)"):
        parse_report("Traceback\nboom\n", "web1")


def test_a_good_site_has_no_problem_even_without_storages_in_installed_apps():
    assert problems(report()) == []


def test_missing_django_storages():
    (problem,) = problems(report(storages_present=False, storages_version=None,
                                 storages_error="ModuleNotFoundError: No module named 'storages'"))
    assert problem.startswith("web1: django-storages is not installed") and "django-storages[s3]" in problem


def test_missing_boto3():
    found = problems(report(boto3_error="ModuleNotFoundError: No module named 'boto3'", boto3_version=None,
                            storages_error="ModuleNotFoundError: No module named 'boto3'"))
    assert len(found) == 1 and found[0].startswith("web1: boto3 does not import")


def test_old_django_has_no_storages_setting():
    (problem,) = problems(report(django="4.1.13"))
    assert "Django 4.1.13" in problem and ">= 4.2" in problem


def test_old_django_storages_has_no_s3_module():
    (problem,) = problems(report(storages_version="1.13.2",
                                 storages_error="ModuleNotFoundError: No module named 'storages.backends.s3'"))
    assert "1.13.2" in problem and "1.14" in problem


def test_installed_apps_is_required_only_where_django_storages_asked_for_it():
    found = problems(report(django="4.2", storages_version="1.6.6",
                            storages_error="ModuleNotFoundError: No module named 'storages.backends.s3'"))
    assert any("add 'storages' to INSTALLED_APPS" in line for line in found)
    assert not any("INSTALLED_APPS" in line for line in problems(report(storages_version="1.14.6")))


def site_host(**changes) -> HostSettings:
    return HostSettings(alias="web1", settings_path="~/site/local_settings.py", reload_command="true",
                        site_url="http://127.0.0.1:8001", health_url="", manage_py="~/site/manage.py",
                        site_python="~/site-venv/bin/python", **changes)


def test_the_command_quotes_paths_and_runs_manage_py_shell():
    command = packages.check_command(site_host())
    assert command.startswith('cd "$HOME"/site && "$HOME"/site-venv/bin/python "$HOME"/site/manage.py shell -c ')
    words = shlex.split(command.split("&& ", 1)[1])
    assert words[2:4] == ["shell", "-c"] and MARKER.strip() in words[4]
    compile(words[4], "site-check", "exec")


def test_the_command_runs_under_the_sites_settings_module():
    command = packages.check_command(site_host(settings_module="shop.settings.production"))
    assert command.startswith('cd "$HOME"/site && env DJANGO_SETTINGS_MODULE=shop.settings.production '
                              '"$HOME"/site-venv/bin/python "$HOME"/site/manage.py shell -c ')


# --- check_site_packages with fake connections ---------------------------------------------------

class FakeConnection:
    def __init__(self, alias, result):
        self.original_host, self.result, self.commands = alias, result, []

    def run(self, command, **kwargs):
        self.commands.append(command)
        return self.result


class FakeRun:
    def __init__(self, settings, results):
        self.settings, self.targets, self.aliases = settings, settings.hosts, settings.host_aliases
        self.connections = {alias: FakeConnection(alias, result) for alias, result in results.items()}

    def connection(self, alias):
        return self.connections[alias]

    on_every_host = Run.on_every_host


CONFIG = """\
HOSTS=web1,web2,web3
MEDIA_ROOT=~/webapps/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=true
SITE_URL=http://127.0.0.1:8001
AWS_STORAGE_BUCKET_NAME=my-media
AWS_ACCESS_KEY_ID=AKIAFILE
AWS_SECRET_ACCESS_KEY=s
MANAGE_PY=~/site/manage.py
SITE_PYTHON=~/venv/bin/python
"""


@pytest.fixture
def settings(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    return load_settings("demo", tmp_path, {})


def ok_output(**changes) -> Result:
    return Result(stdout=f"{MARKER}{json.dumps({**GOOD, **changes})}\n")


def test_every_configured_host_is_checked(settings):
    run = FakeRun(settings, {alias: ok_output() for alias in ("web1", "web2", "web3")})
    summary = check_site_packages(run)
    assert summary.startswith("site packages: web1 Django 5.2.19, django-storages 1.14.6, boto3 1.44.5; web2")
    assert all(len(connection.commands) == 1 for connection in run.connections.values())


def test_problems_of_every_host_in_one_error(settings):
    run = FakeRun(settings, {"web1": ok_output(),
                             "web2": ok_output(storages_present=False, storages_version=None),
                             "web3": Result(stdout="", stderr="ImproperlyConfigured: SECRET_KEY", exited=1)})
    with pytest.raises(PreflightError) as error:
        check_site_packages(run)
    lines = str(error.value).splitlines()
    assert lines[0].startswith("web2: django-storages is not installed")
    assert lines[1].startswith("web3: checking the site's packages") and "SECRET_KEY" in lines[1]


def test_hosts_without_manage_py_are_skipped(settings):
    hosts = (settings.hosts[0], *(replace(host, manage_py=None) for host in settings.hosts[1:]))
    run = FakeRun(replace(settings, hosts=hosts), {"web1": ok_output(), "web2": None, "web3": None})
    assert check_site_packages(run).endswith("(not checked: web2, web3, no MANAGE_PY)")
    assert run.connections["web2"].commands == []
