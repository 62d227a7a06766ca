"""deploy/site/programs/thumbnail_tool.py in a real Django 5.2 site with easy-thumbnails 2.10.1 and sorl-thumbnail 13.4.0.

Every command runs as deploy/site/facts/thumbnails.py builds it (``manage.py shell -c`` under the
site's settings module) and every report is read by it.  The site (tests/integration/thumbnail_site.py)
is built once; each test gets its own copy of the seeded state: 10 images, 20 easy_thumbnails and
20 sorl thumbnails made on disk.  "bucket" mode is the site after the switch, with a storage that
has no path(), as S3 has none, so easy_thumbnails trusts only its rows.  No sandbox is used.
"""

import hashlib
import os
import stat

import pytest

from deploy.errors import RemoteError
from deploy.site.facts import thumbnails
from deploy.site.facts.thumbnail_plan import easy_migration, problems, sorl_cost_problem, summary_lines
from deploy.site.site_python import PROGRAMS
from deploy.site.facts.thumbnails import S3_HASH, parse_report, parse_rows_change, parse_sorl_cost, storage_hash

from .thumbnail_site import IMAGES, build, copy

pytestmark = pytest.mark.slow

DISK = "django.core.files.storage.filesystem.FileSystemStorage"
THUMBNAIL_DISK = "easy_thumbnails.storage.ThumbnailFileSystemStorage"
BUCKET = "testsite.bucket.BucketStorage"


@pytest.fixture(scope="module")
def seeded(project_root, tmp_path_factory):
    return build(project_root, tmp_path_factory.mktemp("thumbnail-site"))


@pytest.fixture
def site(seeded, tmp_path):
    return copy(seeded, tmp_path / "state")


def detect(site, store, **extra):
    result = site.shell(thumbnails.detect_command(site.host), store, **extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return parse_report(result.stdout, "web1")


def migrate(site, migration, record, store="bucket"):
    result = site.shell(thumbnails.migrate_command(site.host, migration, str(record)), store)
    assert result.returncode == 0, result.stdout + result.stderr
    return parse_rows_change(result.stdout, "web1")


def restore(site, record, store="disk"):
    result = site.shell(thumbnails.restore_command(site.host, str(record)), store)
    assert result.returncode == 0, result.stdout + result.stderr
    return parse_rows_change(result.stdout, "web1")


def switch(site):
    """The cutover's part: the upload, then the hashes the site selects before and after the flip."""
    before = detect(site, "disk")
    site.copy_to_bucket()
    return easy_migration(before, detect(site, "bucket"))


def requests(site):
    counts = {}
    for line in site.operations():
        counts[line.split(" ", 1)[0]] = counts.get(line.split(" ", 1)[0], 0) + 1
    return counts


def test_detect_reports_each_library_its_storage_hashes_and_rows(site):
    report = detect(site, "disk")
    easy, sorl = report.easy, report.sorl
    assert (easy.installed, easy.version, easy.alias, easy.alias_in_storages) == (True, "2.10.1", "easy_thumbnails", True)
    assert easy.storage.backend == THUMBNAIL_DISK and easy.storage.local
    assert easy.storage.hash == storage_hash(THUMBNAIL_DISK) and easy.source_hash == storage_hash(DISK)
    assert easy.sources == {storage_hash(DISK): IMAGES}
    assert easy.thumbnails == {storage_hash(THUMBNAIL_DISK): 2 * IMAGES} and easy.dimensions == 2 * IMAGES
    assert (sorl.installed, sorl.version, sorl.setting, sorl.storage.backend) == (True, "13.4.0", "default", DISK)
    assert (sorl.rows, sorl.images, sorl.thumbnails, sorl.live_thumbnails, sorl.thumbnail_files) == (
        4 * IMAGES, IMAGES, 2 * IMAGES, 2 * IMAGES, 2 * IMAGES)
    assert problems(report, str(site.state / "media")) == []
    # Run as a file with the site on sys.path, it reports the same.
    as_file = site.shell(f"cd / && PYTHONPATH={site.code} DJANGO_SETTINGS_MODULE=testsite.settings {site.python} "
                         f"{PROGRAMS / 'thumbnail_tool.py'} detect")
    assert parse_report(as_file.stdout, "web1") == report, as_file.stderr
    assert summary_lines(report) == [
        "web1: easy_thumbnails 2.10.1: alias 'easy_thumbnails' -> easy_thumbnails.storage.ThumbnailFileSystemStorage, "
        "10 sources, 20 thumbnails; rows will be moved to the hash of S3Storage at the switch",
        "web1: sorl-thumbnail 13.4.0: THUMBNAIL_STORAGE 'default' -> django.core.files.storage.filesystem."
        "FileSystemStorage, 40 key-value rows (10 images, 20 thumbnails, 20 in use), 20 files under cache/; "
        "every thumbnail name changes at the switch"]
    # The S3 hash the flow moves rows to is easy_thumbnails' own, of django-storages' real S3Storage.
    probe = site.shell(f"cd {site.code} && DJANGO_SETTINGS_MODULE=testsite.settings {site.python} -c '"
                       "import django; django.setup(); from storages.backends.s3 import S3Storage; "
                       "from easy_thumbnails.utils import get_storage_hash; "
                       "print(get_storage_hash(S3Storage(bucket_name=\"b\")))'")
    assert probe.stdout.strip() == S3_HASH == hashlib.md5(b"storages.backends.s3.S3Storage").hexdigest(), probe.stderr


def test_a_thumbnail_storage_left_on_disk_while_the_media_go_to_the_bucket_is_named(site):
    report = detect(site, "bucket", THUMBS_EASY_ALIAS="thumbfs")
    (problem,) = problems(report)
    assert problem == (
        f"web1: easy_thumbnails would write new thumbnails on disk in {site.state / 'media'}, linked at "
        "http://bucket.test/media/ (STORAGES['easy_thumbnails'] -> easy_thumbnails.storage.ThumbnailFileSystemStorage) "
        "while the default storage is testsite.bucket.BucketStorage: make STORAGES['easy_thumbnails'] follow "
        "STORAGES['default'] in the block the switch guards (`invoke settings-snippet` prints one)")
    assert problems(detect(site, "bucket")) == []


def test_moved_rows_regenerate_nothing_on_the_bucket_where_unmoved_ones_regenerate_all(site, seeded, tmp_path):
    unmoved = copy(seeded, tmp_path / "unmoved")
    unmoved.copy_to_bucket()
    assert len(unmoved.render("easy", unmoved.sources(), "bucket")) == 2 * IMAGES  # the 20 of 20
    assert requests(unmoved) == {"HEAD": 20, "GET": 20, "DELETE": 20, "PUT": 20}

    migration = switch(site)
    assert (migration.from_hash, migration.to_hash) == (storage_hash(DISK), storage_hash(BUCKET))
    assert (migration.thumbnails_from_hash, migration.thumbnails_to_hash) == (storage_hash(THUMBNAIL_DISK),
                                                                            storage_hash(BUCKET))
    change = migrate(site, migration, tmp_path / "rows.json")
    # Each source's first thumbnail is older than the source's modified (the second one's save moved it).
    assert change.counts == {"sources_moved": 10, "sources_merged": 0, "thumbnails_moved": 20,
                             "thumbnails_merged": 0, "thumbnails_refreshed": 10}
    assert site.render("easy", site.sources(), "bucket") == []
    assert requests(site) == {}
    after = detect(site, "bucket")
    assert after.easy.sources == {storage_hash(BUCKET): 10} and after.easy.thumbnails == {storage_hash(BUCKET): 20}


def test_restore_puts_every_row_back_byte_for_byte_and_a_second_move_changes_nothing(site, tmp_path):
    before = site.dump()
    migration, record = switch(site), tmp_path / "records" / "rows.json"
    assert migrate(site, migration, record).changed
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600 and site.dump() != before
    written, moved = record.read_bytes(), site.dump()
    again = migrate(site, migration, record)
    assert not again.changed and not any(again.counts.values())
    assert record.read_bytes() == written and site.dump() == moved
    back = restore(site, record)
    assert back.counts == {"sources_taken_in": 0, "sources_restored": 10, "sources_gone": 0, "thumbnails_restored": 20,
                           "thumbnails_gone": 0, "dimensions_restored": 0, "dimensions_gone": 0}
    assert site.dump() == before
    restore(site, record)
    assert site.dump() == before


def test_the_undo_takes_in_the_rows_an_old_worker_made_on_disk_after_the_move(site, tmp_path):
    """Until the reload the old workers serve from disk: a thumbnail saved there makes a Source under the disk's hash."""
    before = site.dump()
    migrate(site, switch(site), tmp_path / "rows.json")
    first = site.sources()[0]
    assert site.render("easy", [first], "disk", THUMBS_ALIASES="medium") == [first + ".80x60_q85.jpg"]
    assert restore(site, tmp_path / "rows.json").counts["sources_taken_in"] == 1
    after = site.dump()
    assert after["easy_thumbnails_source"] == before["easy_thumbnails_source"]
    (added,) = set(after["easy_thumbnails_thumbnail"]) - set(before["easy_thumbnails_thumbnail"])
    assert added[2] == first + ".80x60_q85.jpg" and added[4] == 1  # joined the source put back (id 1)
    assert set(before["easy_thumbnails_thumbnail"]) < set(after["easy_thumbnails_thumbnail"])


def test_a_cutover_after_a_naive_one_and_its_rollback_merges_the_rows_under_both_hashes(site, tmp_path):
    """The issue's UNIQUE case: a cutover without the move regenerated every thumbnail under the bucket's hash."""
    site.copy_to_bucket()
    assert len(site.render("easy", site.sources(), "bucket")) == 2 * IMAGES
    before = site.dump()
    change = migrate(site, switch(site), tmp_path / "rows.json")
    assert change.counts == {"sources_moved": 0, "sources_merged": 10, "thumbnails_moved": 0,
                             "thumbnails_merged": 20, "thumbnails_refreshed": 0}
    (site.state / "ops.log").unlink()
    assert site.render("easy", site.sources(), "bucket") == [] and requests(site) == {}
    restore(site, tmp_path / "rows.json")
    assert site.dump() == before  # the merged sources and thumbnails, and their dimensions, recreated as they were


def test_move_restore_move_with_an_upload_on_each_side_merges(site, tmp_path):
    """An image uploaded on the bucket, and after the rollback given a new thumbnail on disk: rows under both hashes."""
    migrate(site, switch(site), tmp_path / "first.json")
    new = site.render("seed", ["photos/new.jpg"], "bucket")
    assert len(site.render("easy", new, "bucket")) == 2
    restore(site, tmp_path / "first.json")
    site.copy_from_bucket()  # the rollback's download
    assert site.render("easy", new, "disk", THUMBS_ALIASES="medium") == ["photos/new.jpg.80x60_q85.jpg"]
    before = site.dump()
    change = migrate(site, switch(site), tmp_path / "second.json")
    assert change.counts == {"sources_moved": 10, "sources_merged": 1, "thumbnails_moved": 21,
                             "thumbnails_merged": 0, "thumbnails_refreshed": 10}
    (site.state / "ops.log").unlink()
    assert site.render("easy", site.sources(), "bucket") == []
    assert site.render("easy", new, "bucket", THUMBS_ALIASES="small,large,medium") == [] and requests(site) == {}
    restore(site, tmp_path / "second.json")
    assert site.dump() == before


def test_a_failure_in_the_middle_of_the_move_leaves_every_row_as_it_was(site, tmp_path):
    site.copy_to_bucket()
    site.render("easy", site.sources(), "bucket")  # rows under both hashes: the move deletes merged rows
    migration, before = switch(site), site.dump()
    # The database refuses the merged sources' delete: the thumbnails' moves and deletes ran before it.
    site.sql("CREATE TRIGGER refuse BEFORE DELETE ON easy_thumbnails_source BEGIN SELECT RAISE(ABORT, 'injected'); END")
    result = site.shell(thumbnails.migrate_command(site.host, migration, str(tmp_path / "rows.json")), "bucket")
    assert result.returncode == 1
    with pytest.raises(RemoteError, match="web1: moving easy_thumbnails' rows failed: IntegrityError: injected"):
        parse_rows_change(result.stdout, "web1")
    assert site.dump() == before and not (tmp_path / "rows.json").exists()
    site.sql("DROP TRIGGER refuse")
    # The record cannot be written (its directory is a file): the last step, after every change.
    (tmp_path / "file").write_text("")
    result = site.shell(thumbnails.migrate_command(site.host, migration, str(tmp_path / "file" / "rows.json")),
                        "bucket")
    assert result.returncode == 1 and "error" in result.stdout
    assert site.dump() == before


def test_sorl_cost_states_the_first_views_and_the_names_left_dead(site):
    result = site.shell(thumbnails.sorl_cost_command(site.host, sample=20), "disk")
    cost = parse_sorl_cost(result.stdout, "web1")
    assert (cost.regenerate, cost.sources, cost.orphaned_rows, cost.dead_count) == (20, 10, 0, 20)
    assert cost.requests == {"HEAD": 60, "PUT": 20, "GET": 10, "total": 90}
    assert len(cost.dead_sample) == 20 and all((site.state / "media" / name).is_file() for name in cost.dead_sample)
    assert sorl_cost_problem(cost, accepted=True) is None
    assert sorl_cost_problem(cost, accepted=False) == (
        "web1: sorl-thumbnail: 20 thumbnails of 10 images will be made again on first view after the switch, about "
        "90 requests to the bucket (60 HEAD, 20 PUT, 10 GET), and their 20 old files under cache/ are left unused "
        "(never deleted); run again with --accept-thumbnail-regeneration to go on")
    # Measured: after the switch, the first views make every thumbnail again, under new names.
    site.copy_to_bucket()
    made = site.render("sorl", site.sources(), "bucket")
    assert len(made) == 20 and requests(site)["PUT"] == cost.requests["PUT"]
    assert not set(made) & set(cost.dead_sample)
    after = parse_sorl_cost(site.shell(thumbnails.sorl_cost_command(site.host, sample=0), "bucket").stdout, "web1")
    assert (after.regenerate, after.orphaned_rows, after.dead_sample) == (20, 20, [])  # the disk ones are orphans now
