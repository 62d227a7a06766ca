"""The storage probe with `manage.py check` folded in, in a real Django 5.2 site (tests/integration/thumbnail_site.py).

One Django start-up answers both: what the settings select, and whether `manage.py check` passes.  A check
error that `manage.py check` reports (and the site's import does not) is what the step refuses.
"""

import subprocess

import pytest

from deploy.site.facts import packages

from deploy.site.facts.storage import parse_report, probe_command

from .thumbnail_site import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(project_root, tmp_path_factory):
    return build(project_root, tmp_path_factory.mktemp("probe-site"))


def probe(site, system_check, **extra):
    result = site.shell(probe_command(site.host, "USE_S3", None, system_check), "disk", **extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return parse_report(result.stdout, "web1")


def test_the_check_passes_in_the_same_start_up_and_is_not_run_unless_asked(site):
    checked = probe(site, system_check=True)
    assert checked.system_check == "ok" and checked.check_problem() is None
    assert checked.default["backend"] == "django.core.files.storage.FileSystemStorage"
    site_packages = packages.from_data(checked.packages, "web1")  # the same start-up: can the site use S3?
    assert site_packages.django.startswith("5.") and packages.problems(site_packages) == []
    assert probe(site, system_check=False).system_check is None


def test_the_thumbnail_libraries_are_looked_at_in_the_same_start_up(site):
    from deploy.site.facts.thumbnails import report_of, sorl_cost_of
    report = probe(site, system_check=True)
    thumbnails = report_of(report.thumbnails, "web1")
    assert thumbnails.easy.installed and thumbnails.easy.version == "2.10.1"
    assert thumbnails.easy.thumbnail_rows == 20 and thumbnails.sorl.installed
    assert "sorl_cost" not in report.thumbnails  # only when asked
    result = site.shell(probe_command(site.host, "USE_S3", None, sorl_cost=True), "disk")
    cost = sorl_cost_of(parse_report(result.stdout, "web1").thumbnails["sorl_cost"], "web1")
    assert cost.regenerate == 20 and cost.sources == 10


def test_a_check_error_is_reported_with_what_django_said_and_names_the_host(site):
    report = probe(site, system_check=True, THUMBS_BREAK_CHECK="1")
    assert report.system_check.startswith("failed: ")
    assert "caches.E001" in report.check_problem()
    assert report.check_problem().startswith("web1: `manage.py check` of the new settings failed: ")
    # and `manage.py check` itself refuses the same settings: the probe says what it would
    command = subprocess.run([str(site.python), "manage.py", "check"], cwd=site.code, capture_output=True, text=True,
                             env=site.environment("disk", THUMBS_BREAK_CHECK="1"), timeout=120)
    assert command.returncode != 0 and "caches.E001" in command.stderr


def test_staged_settings_are_what_the_probe_sees_while_the_file_on_disk_stays_as_it_was(site):
    from deploy.site.facts.storage import staged_input
    settings_file = site.code / "testsite" / "settings.py"
    before = settings_file.read_bytes()
    staged = before + b'\nUSE_S3 = True\nMEDIA_URL = "http://bucket.test/staged/"\n'
    command = probe_command(site.host, "USE_S3", None, system_check=True, staged=True)
    result = subprocess.run(["bash", "-c", command], input=staged_input(site.host, staged), capture_output=True,
                            env=site.environment("disk"), timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    report = parse_report(result.stdout.decode(), "web1")
    assert (report.staged, report.switch, report.media_url) == ("imported", "True", "http://bucket.test/staged/")
    assert report.saw_staged(True) and not report.saw_staged(False) and report.system_check == "ok"
    assert settings_file.read_bytes() == before  # nothing written, no bytecode of the staged source kept
    assert not any(b"staged" in path.read_bytes() for path in site.code.rglob("*.pyc"))
    plain = probe(site, system_check=False)
    assert (plain.staged, plain.switch, plain.media_url) == (None, "None", "/media/")
