"""The site-packages check: the report the storage probe's start-up makes, its judging, and the preflight's."""

import shlex

import pytest

from deploy.config.types import HostSettings
from deploy.errors import PreflightError
from deploy.flows import preflight
from deploy.flows.state import FlowState
from deploy.site.ops import storage
from deploy.site.facts.packages import SiteReport, from_data, problems
from deploy.site.facts.storage import parse_report, probe_command

from .test_storage_check import report_line

GOOD = {"django": "5.2.19", "storages_present": True, "storages_error": None, "storages_version": "1.14.6",
        "boto3_error": None, "boto3_version": "1.44.5", "storages_in_installed_apps": False}


def report(**changes) -> SiteReport:
    return SiteReport(host="web1", **{**GOOD, **changes})


def test_the_probes_packages_become_a_report_and_none_names_the_host():
    assert from_data(GOOD, "web1") == report()
    with pytest.raises(PreflightError, match=r"web1: the storage check reported no site packages \(None\)"):
        from_data(None, "web1")


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


def test_the_storage_probe_asks_for_the_packages_in_its_own_start_up():
    words = shlex.split(probe_command(site_host(), "USE_S3", None).split("&& ", 1)[1])
    script = words[words.index("-c") + 1]
    assert "def site_packages():" in script and '"packages": site_packages(),' in script
    compile(script, "probe", "exec")


# --- the preflight judges every host's, in one error ------------------------------------------------

class FakeRun:
    def __init__(self, reports):
        self.reports, self.state, self.aliases = reports, FlowState(), tuple(reports)


def probed(monkeypatch, **by_host):
    monkeypatch.setattr(storage, "probed", lambda run: list(by_host))
    monkeypatch.setattr(storage, "probe_sites", lambda run, aliases, sorl_cost=False: {
        alias: parse_report(report_line(packages=data), alias) for alias, data in by_host.items()})
    return FakeRun(by_host)


def test_every_host_s_packages_are_judged_and_said(monkeypatch):
    run = probed(monkeypatch, web1=GOOD, web2=GOOD)
    said = preflight.check_storage_selected(run, site_packages=True)
    assert "site packages: web1 Django 5.2.19, django-storages 1.14.6, boto3 1.44.5; web2 Django" in said


def test_problems_of_every_host_in_one_error(monkeypatch):
    run = probed(monkeypatch, web1=GOOD, web2={**GOOD, "storages_present": False, "storages_version": None},
                 web3=None)
    with pytest.raises(PreflightError) as error:
        preflight.check_storage_selected(run, site_packages=True)
    lines = str(error.value).splitlines()
    assert lines[0].startswith("web3: the storage check reported no site packages")
    assert lines[1].startswith("web2: django-storages is not installed")


def test_the_rollback_does_not_ask(monkeypatch):
    run = probed(monkeypatch, web1={**GOOD, "boto3_error": "ModuleNotFoundError"})
    assert "site packages" not in preflight.check_storage_selected(run)
