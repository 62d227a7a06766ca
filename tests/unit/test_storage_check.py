"""The storage check: the probe's command, its report, and what the flipped settings must select."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from deploy.config.types import HostSettings
from deploy.errors import PreflightError
from deploy.site import site_python as commands
from deploy.site.facts import storage as storage_check
from deploy.site.facts.storage import MARKER, parse_report, probe_command, problems_on_disk, problems_on_s3

MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
S3_CLASSES = ["storages.backends.s3.S3Storage", "storages.base.BaseStorage",
              "django.core.files.storage.base.Storage", "builtins.object"]
DISK_CLASSES = ["django.core.files.storage.filesystem.FileSystemStorage", "django.core.files.storage.base.Storage"]


def report_line(**changes) -> str:
    data = {"settings_module": "shop.settings.production", "switch": "True",
            "default": {"backend": "storages.backends.s3.S3Storage", "classes": S3_CLASSES, "bucket": "my-media",
                        "location": "media", "real_location": None, "endpoint": "http://127.0.0.1:18333",
                        "custom_domain": None},
            "staticfiles": MANIFEST, "media_url": "http://127.0.0.1:18333/my-media/media/", "media_root": "/srv/m",
            "legacy_default_file_storage": None, "thumbnail_alias": None, "thumbnail_storage": None}
    for key, value in changes.items():
        if key.startswith("default_"):
            data["default"][key[len("default_"):]] = value
        else:
            data[key] = value
    return "some warning\n" + MARKER + json.dumps(data) + "\n"


def judge(**changes):
    return problems_on_s3(parse_report(report_line(**changes), "web1"), "my-media", "media",
                          "http://127.0.0.1:18333", MANIFEST)


def test_s3_settings_that_match_the_environment_pass():
    assert judge() == []
    assert judge(default_location="/media/", default_endpoint="http://127.0.0.1:18333/") == []


def test_the_recipe_era_default_file_storage_is_named_with_what_to_write_instead():
    (problem,) = judge(default_backend="django.core.files.storage.FileSystemStorage", default_classes=DISK_CLASSES,
                       legacy_default_file_storage="storages.backends.s3boto3.S3Boto3Storage")
    assert problem.startswith("web1: the flipped settings set DEFAULT_FILE_STORAGE = "
                              "'storages.backends.s3boto3.S3Boto3Storage', which Django 5.1 and later ignore")
    assert "STORAGES['default']" in problem and "invoke settings-snippet" in problem


@pytest.mark.parametrize("change, words", [
    ({"default_bucket": "other"}, "uses bucket 'other', but the media were uploaded to 'my-media'"),
    ({"default_location": "uploads"}, "has location 'uploads', but the media were uploaded under 'media'"),
    ({"default_endpoint": None}, "talks to AWS, but the media were uploaded to http://127.0.0.1:18333"),
    ({"staticfiles": "django.contrib.staticfiles.storage.StaticFilesStorage"},
     "changed the staticfiles backend from django.contrib.staticfiles.storage.ManifestStaticFilesStorage"),
])
def test_each_mistake_manage_py_check_passes_is_caught(change, words):
    (problem,) = judge(**change)
    assert problem.startswith("web1: ") and words in problem


def test_rollback_wants_the_file_system_at_media_root():
    disk = parse_report(report_line(default_backend="django.core.files.storage.FileSystemStorage",
                                    default_classes=DISK_CLASSES, default_bucket=None,
                                    default_location="/srv/m", default_real_location="/srv/m"), "web1")
    assert problems_on_disk(disk, "/srv/m", MANIFEST) == []
    assert "not in MEDIA_ROOT (/srv/other)" in problems_on_disk(disk, "/srv/other", MANIFEST)[0]
    still_s3 = parse_report(report_line(), "web1")
    assert "not FileSystemStorage" in problems_on_disk(still_s3, None, MANIFEST)[0]


def test_no_report_names_the_host():
    with pytest.raises(PreflightError, match=r"^web2: the storage check printed no report \(Traceback \| boom\)"):
        parse_report("Traceback\nboom\n", "web2")


def test_the_command_names_the_module_and_switch_and_carries_no_file_content():
    host = HostSettings(alias="web1", settings_path="~/site/.env", reload_command="true", site_url="http://x",
                        health_url="", manage_py="~/site/manage.py", site_python="/srv/venv/bin/python",
                        settings_module="shop.settings.production")
    command = probe_command(host, "USE_S3", None)
    assert command.startswith('cd "$HOME"/site && env DJANGO_SETTINGS_MODULE=shop.settings.production '
                              'MEDIA_CUTOVER_SWITCH=USE_S3 MEDIA_CUTOVER_MIRROR_SWITCH=MEDIA_MIRROR '
                              '/srv/venv/bin/python "$HOME"/site/manage.py shell -c ')
    with_env = probe_command(dataclasses.replace(host, settings_module=None), "USE_S3", "~/site/.env")
    assert with_env.startswith('cd "$HOME"/site && env MEDIA_CUTOVER_SWITCH=USE_S3 '
                               'MEDIA_CUTOVER_MIRROR_SWITCH=MEDIA_MIRROR MEDIA_CUTOVER_ENV_FILE="$HOME"/site/.env /srv/venv/bin/python -c ')


def test_the_env_file_loader_reads_the_file_as_systemd_would_with_the_switch_winning(tmp_path):
    env_file = tmp_path / "site.env"
    env_file.write_text("# comment\nexport USE_S3=true\nNAME=\"a b\" # c\nPLAIN=x # note\n#OFF=1\nKEPT=file\n")
    code = commands.LOAD_ENV_FILE + "\nimport json; print(json.dumps({k: os.environ.get(k) for k in " \
        "['USE_S3', 'NAME', 'PLAIN', 'OFF', 'KEPT']}))"
    environment = {**os.environ, "MEDIA_CUTOVER_ENV_FILE": str(env_file), "MEDIA_CUTOVER_SWITCH": "USE_S3",
                   "USE_S3": "false", "KEPT": "process"}
    output = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                            check=True).stdout
    assert json.loads(output) == {"USE_S3": "true", "NAME": "a b", "PLAIN": "x", "OFF": None, "KEPT": "process"}


def test_the_sites_own_key_must_store_a_file_through_its_storage():
    assert judge(write="ok") == []
    (problem,) = judge(write="failed: ClientError: An error occurred (403) when calling the PutObject operation")
    assert problem.startswith("web1: the site's own S3 key could not store a file through its storage (failed: ")
    assert "every upload would fail" in problem
    # Without a key in manage.py's environment (gunicorn gets it elsewhere): said, not refused.
    assert judge(write="no credentials") == []
    report = parse_report(report_line(write="no credentials"), "web1")
    assert "the site's own key NOT checked" in report.summary()


S3_SIDE = {"backend": "storages.backends.s3.S3Storage", "classes": S3_CLASSES, "bucket": "my-media",
           "location": "media", "real_location": None, "endpoint": "http://127.0.0.1:18333", "custom_domain": None}
DISK_SIDE = {"backend": DISK_CLASSES[0], "classes": DISK_CLASSES, "bucket": None, "location": "/srv/m",
             "real_location": "/srv/m", "endpoint": None, "custom_domain": None}
MIRROR_CLASSES = ["media_mirror.MirrorStorage", "django.core.files.storage.base.Storage"]


def mirror_report(primary: dict, secondary: dict):
    default = {**DISK_SIDE, "backend": "media_mirror.MirrorStorage", "classes": MIRROR_CLASSES, "location": None,
               "real_location": None, "mirror": {"primary": primary, "secondary": secondary, "failures": "/h/f"}}
    line = report_line(mirror_switch="True")
    data = json.loads(line.split(MARKER)[1])
    data["default"] = default
    return parse_report(MARKER + json.dumps(data), "web1")


def test_the_mirror_is_judged_by_its_primary_and_its_second_storage_must_be_the_other_one():
    on_disk = mirror_report(primary=DISK_SIDE, secondary=S3_SIDE)
    assert on_disk.serving == DISK_SIDE and problems_on_disk(on_disk, "/srv/m", MANIFEST) == []
    assert storage_check.problems_of_mirror(on_disk, True, "MEDIA_MIRROR", "my-media", "media",
                                            "http://127.0.0.1:18333", "/srv/m") == []
    assert "mirrored to storages.backends.s3.S3Storage by media_mirror.MirrorStorage" in on_disk.summary()
    on_s3 = mirror_report(primary=S3_SIDE, secondary=DISK_SIDE)
    assert problems_on_s3(on_s3, "my-media", "media", "http://127.0.0.1:18333", MANIFEST) == []
    assert storage_check.problems_of_mirror(on_s3, True, "MEDIA_MIRROR", "my-media", "media", None, "/srv/m") == []
    elsewhere = mirror_report(primary=DISK_SIDE, secondary={**S3_SIDE, "location": "uploads"})
    [problem] = storage_check.problems_of_mirror(elsewhere, True, "MEDIA_MIRROR", "my-media", "media", None, None)
    assert problem.startswith("the mirror's second storage: web1: the site's S3 storage has location 'uploads'")


def test_a_switch_that_builds_no_mirror_is_refused_naming_what_to_add_and_off_must_mean_off():
    plain = parse_report(report_line(), "web1")
    [problem] = storage_check.problems_of_mirror(plain, True, "MEDIA_MIRROR", "my-media", "media", None, None)
    assert "with MEDIA_MIRROR on, the default storage is storages.backends.s3.S3Storage, not the mirror" in problem
    assert "--part=mirror" in problem
    assert storage_check.problems_of_mirror(plain, False, "MEDIA_MIRROR", "my-media", "media", None, None) == []
    still = mirror_report(primary=S3_SIDE, secondary=DISK_SIDE)
    [problem] = storage_check.problems_of_mirror(still, False, "MEDIA_MIRROR", "my-media", "media", None, None)
    assert "with MEDIA_MIRROR off the default storage is still the mirror" in problem
