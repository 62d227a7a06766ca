"""The thumbnail libraries' pure side (deploy/site/facts/thumbnails.py): command lines, reports, judging, summaries.

The script itself runs in a real Django site in tests/integration/test_thumbnails_script.py;
here only what needs no Django: its command line's shape and its usage errors.
"""

import ast
import dataclasses
import hashlib
import json
import shlex
import sys

import pytest

from deploy.config.types import HostSettings
from deploy.errors import PreflightError, RemoteError
from deploy.site.facts import thumbnails
from deploy.site.facts.thumbnail_plan import easy_migration, planned_migration, problems, sorl_cost_problem, summary_lines
from deploy.site.facts.thumbnails import (MARKER, S3_HASH, EasyMigration, parse_report, parse_rows_change, parse_sorl_cost,
                                    record_path, storage_hash)

from deploy.site.site_python import PROGRAMS

from .remote_scripts import run

DISK = "django.core.files.storage.filesystem.FileSystemStorage"
THUMBNAIL_DISK = "easy_thumbnails.storage.ThumbnailFileSystemStorage"
HOST = HostSettings(alias="web1", settings_path="~/site/local_settings.py", reload_command="true",
                    site_url="http://x", health_url=None, manage_py="~/site/manage.py",
                    site_python="/srv/venv/bin/python", settings_module="shop.settings.production")


def storage(backend=DISK, local=True, **changes):
    return {"backend": backend, "local": local, "location": "/srv/media" if local else "media",
            "bucket": None if local else "my-media", "url": "/media/" if local else None,
            "hash": storage_hash(backend), **changes}


def report_data(easy=None, sorl=None, default=None):
    data = {"command": "detect", "django": "5.2.19", "settings_module": "shop.settings.production",
            "default": default or storage(hash=None),
            "easy_thumbnails": {"installed": True, "version": "2.10.1", "alias": "easy_thumbnails",
                                "alias_in_storages": True, "storage": storage(THUMBNAIL_DISK),
                                "source_hash": storage_hash(DISK), "legacy_setting": None, "check_cache_miss": False,
                                "sources": {storage_hash(DISK): 20}, "thumbnails": {storage_hash(THUMBNAIL_DISK): 40},
                                "dimensions": 40, "mismatch": None},
            "sorl": {"installed": False, "version": None}}
    data["easy_thumbnails"].update(easy or {})
    if sorl is not None:
        data["sorl"] = {"installed": True, "version": "13.4.0", "setting": "default", "storage": storage(hash=None),
                        "kvstore": "sorl.thumbnail.kvstores.cached_db_kvstore.KVStore", "prefix": "cache/",
                        "rows": 40, "images": 10, "thumbnails": 20, "live_thumbnails": 20, "thumbnail_files": 22,
                        "mismatch": None, **sorl}
    return data


def report(filer=None, **parts):
    data = report_data(**parts)
    if filer is not None:
        data["filer"] = {"installed": True, "version": "3.6.0", "mismatch": None, **filer}
    return parse_report("Using production settings\n" + MARKER + json.dumps(data) + "\n", "web1")


def test_django_filer_on_s3_needs_a_bucket_of_its_own_settings_as_it_ignores_the_defaults_options():
    s3 = "storages.backends.s3.S3Storage"
    default = storage(s3, local=False, hash=None)
    configured = report(filer={"files": storage(s3, local=False), "thumbnails": storage(s3, local=False)},
                        default=default, easy={"storage": storage(s3, local=False), "source_hash": S3_HASH})
    assert problems(configured) == []
    assert summary_lines(configured)[-1].startswith("web1: django-filer 3.6.0: files -> storages.backends.s3.S3Storage "
                                                    "(bucket my-media), thumbnails (easy_thumbnails) -> ")
    options_only = report(filer={"files": storage(s3, local=False, bucket=None),
                                 "thumbnails": storage(s3, local=False, bucket=None)},
                          default=default, easy={"storage": storage(s3, local=False), "source_hash": S3_HASH})
    (problem,) = problems(options_only)
    assert problem.startswith("web1: django-filer's FILER_STORAGES['public']['main'] is a S3Storage without a bucket")
    assert "set the AWS_* settings" in problem
    assert report().filer.installed is False  # a report without the filer part (an older script) reads as none


# --- hashes and command lines -------------------------------------------------------------------

def test_the_storage_hash_is_easy_thumbnails_md5_of_the_class_path():
    assert S3_HASH == hashlib.md5(b"storages.backends.s3.S3Storage").hexdigest() == "c3d57892ee16c0b31fea83f03784e52c"
    assert storage_hash(DISK) == hashlib.md5(DISK.encode()).hexdigest()


def test_the_script_is_both_parts_then_main_with_the_arguments():
    text = thumbnails.script(["migrate-easy", "--record", "~/it's.json"])
    assert text.index("def migrate_easy(") < text.index("def detect(")
    assert text.endswith("\nraise SystemExit(main(['migrate-easy', '--record', \"~/it's.json\"]))\n")
    compile(text, "thumbnails", "exec")


def test_commands_run_the_script_under_the_sites_settings_module():
    command = thumbnails.detect_command(HOST)
    prefix = ('cd "$HOME"/site && env DJANGO_SETTINGS_MODULE=shop.settings.production MEDIA_CUTOVER_SWITCH=USE_S3 '
              '/srv/venv/bin/python "$HOME"/site/manage.py shell -c ')
    assert command.startswith(prefix)
    assert shlex.split(command[len(prefix):]) == [thumbnails.script(["detect"])]
    with_env = thumbnails.detect_command(dataclasses.replace(HOST, settings_module=None), "~/site/.env", "S3")
    assert with_env.startswith('cd "$HOME"/site && env MEDIA_CUTOVER_SWITCH=S3 MEDIA_CUTOVER_ENV_FILE="$HOME"/site/.env '
                               '/srv/venv/bin/python -c ')


@pytest.mark.parametrize("build, arguments", [
    (lambda: thumbnails.migrate_command(HOST, EasyMigration("a", "b", "c", "d"), "~/r.json"),
     ["migrate-easy", "--from-hash", "a", "--to-hash", "b", "--thumbnails-from-hash", "c",
      "--thumbnails-to-hash", "d", "--record", "~/r.json"]),
    (lambda: thumbnails.restore_command(HOST, "~/r.json"), ["restore-easy", "--record", "~/r.json"]),
    (lambda: thumbnails.sorl_cost_command(HOST, 5), ["sorl-cost", "--sample", "5"]),
])
def test_each_command_passes_its_arguments_to_main(build, arguments):
    assert shlex.split(build())[-1] == thumbnails.script(arguments)


def test_the_record_lives_in_the_tools_directory_per_run():
    assert record_path("~/.media-cutover/", "20261201-1") == "~/.media-cutover/thumbnails/20261201-1-easy-rows.json"


def top_modules(nodes):
    return {name.split(".")[0] for node in nodes for name in
            ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
             [node.module] if isinstance(node, ast.ImportFrom) else [])}


@pytest.mark.parametrize("name", ["thumbnail_tool.py", "thumbnail_rows.py"])
def test_the_scripts_need_only_the_stdlib_at_import_and_the_sites_packages_inside(name):
    tree = ast.parse((PROGRAMS / name).read_text(), feature_version=(3, 8))
    assert top_modules(tree.body) <= set(sys.stdlib_module_names)
    assert top_modules(ast.walk(tree)) - set(sys.stdlib_module_names) <= {"django", "easy_thumbnails", "sorl",
                                                                         "thumbnail_rows", "filer"}


@pytest.mark.parametrize("arguments", [[], ["migrate-easy", "--from-hash", "a"], ["sorl-cost", "--sample", "x"]])
def test_usage_errors_exit_2_before_django_is_touched(arguments):
    result = run(PROGRAMS / "thumbnail_tool.py", *arguments)  # the project's Python: no Django there
    assert result.returncode == 2 and b"usage: thumbnail_tool.py" in result.stderr


# --- reports ------------------------------------------------------------------------------------

def test_the_report_is_read_past_other_output():
    parsed = report(sorl={})
    assert parsed.host == "web1" and parsed.default.backend == DISK
    assert parsed.easy.storage.hash == storage_hash(THUMBNAIL_DISK) and parsed.easy.source_rows == 20
    assert parsed.easy.thumbnail_rows == 40 and parsed.sorl.live_thumbnails == 20


@pytest.mark.parametrize("output, words", [
    ("Traceback\nImportError: no module named django\n", "web1: the thumbnail check printed no report "
                                                          "(Traceback | ImportError: no module named django)"),
    (MARKER + '{"command": "detect", "error": "OperationalError: no such table"}\n',
     "web1: the thumbnail check failed: OperationalError: no such table"),
])
def test_a_missing_or_failed_report_names_the_host(output, words):
    with pytest.raises(PreflightError) as raised:
        parse_report(output, "web1")
    assert str(raised.value) == words


def test_the_rows_change_says_what_moved_and_a_failure_is_a_remote_error():
    change = parse_rows_change(MARKER + json.dumps({
        "command": "migrate-easy", "changed": True, "record": "~/r.json",
        "counts": {"sources_moved": 20, "sources_merged": 0, "thumbnails_moved": 40, "thumbnails_merged": 0,
                   "thumbnails_refreshed": 20}}), "web1")
    assert change.summary() == ("web1: easy_thumbnails rows moved: 20 sources moved, 40 thumbnails moved, "
                                "20 thumbnails refreshed (record ~/r.json)")
    assert dataclasses.replace(change, changed=False).summary() == "web1: easy_thumbnails rows: nothing to change"
    with pytest.raises(RemoteError, match="web1: moving easy_thumbnails' rows failed: the record ~/r.json exists"):
        parse_rows_change(MARKER + '{"command": "migrate-easy", "error": "the record ~/r.json exists already"}', "web1")


# --- judging ------------------------------------------------------------------------------------

def test_a_site_whose_thumbnails_follow_its_media_has_no_problem():
    assert problems(report(sorl={}), "/srv/media") == []


def test_each_problem_is_one_line_naming_the_host_and_the_setting():
    found = problems(report(easy={"mismatch": "easy_thumbnails would write new thumbnails on disk ...",
                                  "legacy_setting": "storages.backends.s3boto3.S3Boto3Storage",
                                  "storage": storage(THUMBNAIL_DISK, location="/srv/thumbs")},
                            sorl={"error": "ImportError: PIL"}), "/srv/media")
    assert found == [
        "web1: easy_thumbnails would write new thumbnails on disk ...",
        "web1: sorl-thumbnail is in INSTALLED_APPS but does not load (ImportError: PIL): fix the site's environment first",
        "web1: THUMBNAIL_DEFAULT_STORAGE = 'storages.backends.s3boto3.S3Boto3Storage' is read by nothing in "
        "easy-thumbnails 2.10 and later: thumbnails go to easy_thumbnails.storage.ThumbnailFileSystemStorage "
        "(alias 'easy_thumbnails'); set STORAGES['easy_thumbnails'] instead, or drop the line",
        "web1: easy_thumbnails keeps its thumbnails in /srv/thumbs, outside MEDIA_ROOT (/srv/media): the upload "
        "would not carry them and their moved rows would point at nothing; set THUMBNAIL_MEDIA_ROOT to '' "
        "(MEDIA_ROOT) or upload that directory too"]
    # A media root the operator wrote with ~ is not compared (the host's home is not known here).
    assert len(problems(report(easy={"storage": storage(THUMBNAIL_DISK, location="/srv/thumbs")}), "~/media")) == 0
    assert problems(report(easy={"storage": storage(THUMBNAIL_DISK, location="/srv/media/thumbs")}), "/srv/media/") == []


def sorl_cost(**changes):
    data = {"command": "sorl-cost", "regenerate": 20, "sources": 10, "orphaned_rows": 0,
            "requests": {"HEAD": 60, "PUT": 20, "GET": 10, "total": 90},
            "dead": {"count": 20, "sample": ["cache/34/7f/347fe.jpg"]}, "sorl": {"prefix": "cache/"}, **changes}
    return parse_sorl_cost(MARKER + json.dumps(data), "web1")


def test_sorl_regeneration_is_stated_with_its_cost_and_needs_the_flag():
    assert sorl_cost_problem(sorl_cost(), accepted=False, flag="--yes-regenerate") == (
        "web1: sorl-thumbnail: 20 thumbnails of 10 images will be made again on first view after the switch, "
        "about 90 requests to the bucket (60 HEAD, 20 PUT, 10 GET), and their 20 old files under cache/ are left "
        "unused (never deleted); run again with --yes-regenerate to go on")
    assert sorl_cost_problem(sorl_cost(), accepted=True) is None
    assert sorl_cost_problem(sorl_cost(regenerate=0), accepted=False) is None


# --- the move's hashes --------------------------------------------------------------------------

S3 = "storages.backends.s3.S3Storage"


def test_the_move_goes_from_the_hashes_before_the_flip_to_those_after():
    before = report()
    after = report(easy={"storage": storage(S3, local=False), "source_hash": S3_HASH}, default=storage(S3, False))
    assert easy_migration(before, after) == EasyMigration(storage_hash(DISK), S3_HASH, storage_hash(THUMBNAIL_DISK),
                                                          S3_HASH)
    assert easy_migration(before, before) is None
    assert easy_migration(report(easy={"installed": False}), after) is None
    assert easy_migration(after, before) == EasyMigration(S3_HASH, storage_hash(DISK), S3_HASH,
                                                          storage_hash(THUMBNAIL_DISK))  # the way back, without a record
    assert planned_migration(before) == easy_migration(before, after)
    assert planned_migration(after) is None


# --- summaries ----------------------------------------------------------------------------------

def test_summaries_say_what_each_library_uses_holds_and_what_the_switch_does():
    assert summary_lines(report(sorl={})) == [
        "web1: easy_thumbnails 2.10.1: alias 'easy_thumbnails' -> easy_thumbnails.storage.ThumbnailFileSystemStorage, "
        "20 sources, 40 thumbnails; rows will be moved to the hash of S3Storage at the switch",
        "web1: sorl-thumbnail 13.4.0: THUMBNAIL_STORAGE 'default' -> django.core.files.storage.filesystem."
        "FileSystemStorage, 40 key-value rows (10 images, 20 thumbnails, 20 in use), 22 files under cache/; "
        "every thumbnail name changes at the switch"]
    on_s3 = report(easy={"alias_in_storages": False, "storage": storage(S3, local=False), "source_hash": S3_HASH,
                         "sources": {S3_HASH: 20, storage_hash(DISK): 3}})
    assert summary_lines(on_s3) == [
        "web1: easy_thumbnails 2.10.1: alias 'easy_thumbnails' (not in STORAGES: the default storage) -> "
        "storages.backends.s3.S3Storage, 23 sources, 40 thumbnails (3 source rows of other storages)"]
    assert summary_lines(report(easy={"installed": False})) == [
        "web1: no thumbnail library (easy_thumbnails, sorl-thumbnail) in INSTALLED_APPS"]
