"""The content's old media URLs against a real Django and SQLite: the program's command lines run as built.

A throwaway site (site_django.make_site) whose MEDIA_URL is /static/media/ (Mezzanine's) stores URLs the
ways real sites do: rich text with relative and absolute URLs and a srcset, a RichTextField (a TextField
subclass), a JSONField, markdown in a model with a UUID key, a multi-table child, a proxy, and bare paths
in a CharField and a FileBrowseField (a CharField subclass).  Each command line deploy/site/facts/
content_urls.py builds runs through bash, with manage.py shell -c under the site's settings module.
"""

import json
import os
import shlex
import sqlite3
import stat
import subprocess

import pytest

from deploy.config.types import HostSettings
from deploy.errors import RemoteError
from deploy.site.edits import content_url_record as record_edits
from deploy.site.edits import content_urls as rewrite
from deploy.site.facts import content_urls

from .site_django import make_site, needs_django, site_python

pytestmark = needs_django

BODY = ('<p><img src="/static/media/uploads/a.png"> <a href="https://www.example.com/static/media/uploads/doc.pdf">'
        'doc</a> <img src="https://cdn.other.com/static/media/x.png"> <img src="/static/media/uploads/gone.png"></p>')
SEED = f'''
Post.objects.create(title="One", body={BODY!r}, data={{"hero": "/static/media/uploads/b%20c.png", "n": 1}},
                    image_path="uploads/a.png", slug="one")
Post.objects.create(title="Two", body="<p>no media</p>", image_path="not/a/file.png")
Article.objects.create(title="Art", summary="See /static/media/uploads/doc.pdf.")
Page.objects.create(content='<img srcset="/static/media/uploads/a.png 1x, '
                            '//www.example.com/static/media/uploads/b%20c.png 2x">', picture="uploads/b c.png")
Note.objects.create(text="![a](/static/media/uploads/a.png)")
'''
FILES = ("uploads/a.png", "uploads/b c.png", "uploads/doc.pdf")
FORMS = content_urls.url_forms("/static/media/", ["http://127.0.0.1:8001"], ["www.example.com"])
TABLES = {"blog.Post": "blog_post", "blog.Article": "blog_article", "blog.Page": "blog_page", "blog.Note": "blog_note"}


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site", "/static/media/", SEED, FILES)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One site for the tests that only read it."""
    return make_site(tmp_path_factory.mktemp("content") / "site", "/static/media/", SEED, FILES)


def host(site, settings_module="settings"):
    return HostSettings(alias="web1", settings_path=str(site / "settings.py"), reload_command="true",
                        site_url="http://127.0.0.1:8001", health_url=None, manage_py=str(site / "manage.py"),
                        site_python=site_python(), settings_module=settings_module)


def run(command, stdin=b""):
    done = subprocess.run(command, shell=True, executable="/bin/bash", input=stdin, capture_output=True, timeout=60)
    return done.stdout.decode() + done.stderr.decode()


def database(site):
    """Every row of the app's tables as SQLite holds it (the bytes a rewrite and its restore must keep)."""
    with sqlite3.connect(site / "db.sqlite3") as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES.values()}


def sql(site, statement):
    with sqlite3.connect(site / "db.sqlite3") as connection:
        connection.execute(statement)


def test_find_reports_each_field_that_holds_old_urls_or_file_paths(seeded):
    report = content_urls.parse_find(run(content_urls.find_command(host(seeded), FORMS)), "web1", FORMS)
    assert {(field.field, field.form): (field.type, field.rows, field.urls, field.names_total, field.on_disk)
            for field in report.fields} == {
        ("blog.Post.body", "url"): ("TextField", 1, 3, 3, 2),            # gone.png is not on disk
        ("blog.Post.data", "url"): ("JSONField", 1, 1, 1, 1),            # a JSONField, cast to text by the database
        ("blog.Post.image_path", "path"): ("CharField", 1, 1, 1, 1),     # "not/a/file.png" is no file
        ("blog.Article.summary", "url"): ("RichTextField", 1, 1, 1, 1),  # the child's own field only
        ("blog.Page.content", "url"): ("RichTextField", 1, 2, 2, 2),
        ("blog.Page.picture", "path"): ("FileBrowseField", 1, 1, 1, 1),
        ("blog.Note.text", "url"): ("TextField", 1, 1, 1, 1)}
    body = next(field for field in report.fields if field.field == "blog.Post.body")
    assert body.examples == ("/static/media/uploads/a.png", "https://www.example.com/static/media/uploads/doc.pdf",
                             "/static/media/uploads/gone.png")
    assert body.foreign_hosts == {"cdn.other.com": 1} and body.missing_on_disk == ("uploads/gone.png",)
    assert report.lines(in_bucket={"uploads/a.png"})[0] == (
        "web1: blog.Post.body (TextField): 1 row, 3 URLs, e.g. /static/media/uploads/a.png, "
        "https://www.example.com/static/media/uploads/doc.pdf, /static/media/uploads/gone.png; "
        "3 files: 2 on disk, 1 in the bucket")
    assert report.errors == () and report.fields_scanned == 10  # the proxy adds none; slug, title, Attachment.name


def test_find_refuses_the_switched_media_url_unless_given_the_disks(seeded):
    output = run(content_urls.command(host(seeded, "settings_s3"), ["find"]))
    assert "settings.MEDIA_URL is https://media-bucket.s3.example.test/media/: pass --media-url" in output


def test_dry_run_rewrite_second_run_and_restore(site, tmp_path):
    on_disk, on_s3 = host(site), host(site, "settings_s3")
    found = content_urls.parse_find(run(content_urls.find_command(on_disk, FORMS, names_limit=0)), "web1", FORMS)
    names = found.names()
    storage = content_urls.parse_storage_urls(
        run(content_urls.storage_urls_command(on_s3), content_urls.storage_urls_input(names)), "web1")
    assert (storage.backend, storage.local) == ("storages.backends.s3.S3Storage", False)
    assert storage.urls["uploads/b c.png"] == "https://media-bucket.s3.example.test/media/uploads/b%20c.png"
    plan = rewrite.plan_rewrite(names, names - {"uploads/gone.png"}, storage.urls.get, FORMS)
    assert set(plan.urls) == {"uploads/a.png", "uploads/b c.png", "uploads/doc.pdf"}
    assert plan.left == {"uploads/gone.png": "not in the bucket"}
    original = database(site)

    # The dry run changes nothing and shows each change.
    dry = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, FORMS, dry_run=True),
                                    rewrite.plan_input(plan)), "web1")
    assert database(site) == original
    assert sorted(row.label for row in dry.rows) == ["blog.Article.summary", "blog.Note.text", "blog.Page.content",
                                                     "blog.Post.body", "blog.Post.data"]
    body = next(row for row in dry.rows if row.label == "blog.Post.body")
    assert '+<img src="https://media-bucket.s3.example.test/media/uploads/a.png">' in rewrite.diff(body)
    assert body.after == BODY.replace("/static/media/uploads/a.png", storage.urls["uploads/a.png"]).replace(
        "https://www.example.com/static/media/uploads/doc.pdf", storage.urls["uploads/doc.pdf"])  # gone.png stays

    # A row edited after the dry run is skipped and named; the others change, recorded (mode 600) before the commit.
    sql(site, "UPDATE blog_note SET text = text || ' (edited)'")
    record = tmp_path / "records" / "content.jsonl"
    output = run(content_urls.rewrite_command(on_s3, FORMS, dry_run=False, record=str(record)),
                 rewrite.plan_input(plan, rewrite.expected_hashes(dry.rows)))
    done = rewrite.parse_rewrite(output, "web1")
    assert sorted(row.label for row in done.rows) == ["blog.Article.summary", "blog.Page.content", "blog.Post.body",
                                                      "blog.Post.data"]
    note = next(count for count in done.fields if count["field"] == "blog.Note.text")
    assert note["changed"] == 0 and note["skipped"][0]["why"] == "changed since the dry run"
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert [rewrite.RowChange.read(json.loads(line)) for line in record.read_text().splitlines()] == list(done.rows)
    after = database(site)
    assert "media-bucket.s3.example.test/media/uploads/b%20c.png" in after["blog_page"][0][1]

    # A second run changes nothing.
    again = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, FORMS, dry_run=False),
                                      rewrite.plan_input(plan, rewrite.expected_hashes(dry.rows))), "web1")
    assert again.rows == () and sum(count["changed"] for count in again.fields) == 0
    assert database(site) == after

    # The restore puts back every row that still holds what was written, byte for byte, and names the other.
    sql(site, "UPDATE blog_page SET content = content || '<p>edited</p>'")
    text = record_edits.record_text(done.rows, run_id="unit")
    restored = record_edits.parse_restore(run(content_urls.restore_command(on_disk),
                                         record_edits.restore_input(record_edits.read_record(text)[1])), "web1")
    assert (restored.restored, restored.already) == (3, 0)
    assert restored.lines()[1] == "web1: NOT put back: blog.Page.content pk 1 (changed since the rewrite)"
    now = database(site)
    for table in ("blog_post", "blog_article"):
        assert now[table] == original[table]
    assert now["blog_page"] != original["blog_page"]
    assert record_edits.parse_restore(run(content_urls.restore_command(on_disk), record_edits.restore_input(done.rows)),
                                 "web1").already == 3   # a second restore finds them back already

    # The restore's undo: exactly the rows it put back, swapped, get the rewritten value again.
    again = record_edits.parse_restore(run(content_urls.restore_command(on_disk), record_edits.restore_input(
        [row.swapped() for row in record_edits.put_back_rows(done.rows, restored)])), "web1")
    assert (again.restored, again.already, again.named) == (3, 0, ())
    assert {table: rows for table, rows in database(site).items() if table != "blog_page"} == {
        table: rows for table, rows in after.items() if table != "blog_page"}
    assert len(record_edits.put_back_rows(done.rows, restored)) == 3 and restored.keys == again.keys


# --- what a trial on a django-summernote site found ------------------------------------------------------

QUOTED = ('<p><img src="/media/legacy/photo\'s%20(1).png" alt="it\'s"> <img src=\'/media/legacy/a.png\'> '
          '<a href="/media/legacy/photo&#39;s%20(1).png">again</a></p>')
SUMMERNOTE = f'''
Post.objects.create(title="Quoted", body={QUOTED!r})
Attachment.objects.create(name="photo.png", file="django-summernote/2024-01-02/photo.png")
Post.objects.create(title="Path", image_path="photo.png")
Post.objects.create(title="Rewritten", body='<img src="https://media-bucket.s3.example.test/media/legacy/a.png"> '
                    '<img src="https://cdn.other.com/media/x.png"> <img src="//MEDIA-bucket.s3.example.test/media/b.png">')
'''
SUMMERNOTE_FILES = ("legacy/photo's (1).png", "legacy/a.png", "photo.png", "django-summernote/2024-01-02/photo.png")
MEDIA = content_urls.url_forms("/media/", ["http://127.0.0.1:8001"], ["www.example.com"])


@pytest.fixture
def summernote(tmp_path):
    return make_site(tmp_path / "site", "/media/", SUMMERNOTE, SUMMERNOTE_FILES)


def test_a_name_with_an_apostrophe_is_found_whole_and_its_rewrite_undone_byte_for_byte(summernote, tmp_path):
    found = content_urls.parse_find(run(content_urls.find_command(host(summernote), MEDIA, names_limit=0)),
                                    "web1", MEDIA)
    body = next(field for field in found.fields if field.field == "blog.Post.body")
    assert (body.rows, body.urls, set(body.names), body.on_disk) == (
        1, 3, {"legacy/photo's (1).png", "legacy/a.png"}, 2)
    original = database(summernote)
    new = {"legacy/photo's (1).png": "https://media-bucket.s3.example.test/media/legacy/photo%27s%20%281%29.png",
           "legacy/a.png": "https://media-bucket.s3.example.test/media/legacy/a.png"}
    plan = rewrite.RewritePlan(new)
    on_s3 = host(summernote, "settings_s3")
    done = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, MEDIA, dry_run=False,
                                                                  record=str(tmp_path / "r.jsonl")),
                                     rewrite.plan_input(plan)), "web1")
    [row] = done.rows
    assert row.after == ('<p><img src="' + new["legacy/photo's (1).png"] + '" alt="it\'s"> <img src=\''
                         + new["legacy/a.png"] + '\'> <a href="' + new["legacy/photo's (1).png"] + '">again</a></p>')
    restored = record_edits.parse_restore(run(content_urls.restore_command(host(summernote)),
                                         record_edits.restore_input(done.rows)), "web1")
    assert restored.restored == 1 and database(summernote) == original


APOSTROPHE_BODY = ('<p><img src="/media/legacy/photo\'s%20(1).png"> <img src=\'/media/legacy/photo%27s%20(1).png\'> '
                   '<a href="https://www.example.com/media/legacy/photo&#39;s%20(1).png">it\'s</a></p>')
APOSTROPHE = f'''
Post.objects.create(title="Quoted", body={APOSTROPHE_BODY!r},
                    data={{"hero": "/media/legacy/photo's%20(1).png", "list": ["/media/legacy/photo's%20(1).png 2x"]}})
'''


def test_the_storages_url_with_an_apostrophe_is_written_encoded_a_second_run_finds_none_the_restore_undoes_it(
        tmp_path):
    """django-storages' URL keeps the ' (filepath_to_uri): the plan writes it %27 in every kind of value; the
    old URLs are gone, a second rewrite changes nothing, and the restore puts back the rows byte for byte."""
    site = make_site(tmp_path / "site", "/media/", APOSTROPHE, ("legacy/photo's (1).png",))
    on_disk, on_s3 = host(site), host(site, "settings_s3")
    found = content_urls.parse_find(run(content_urls.find_command(on_disk, MEDIA, names_limit=0)), "web1", MEDIA)
    assert {(field.field, field.urls) for field in found.url_fields} == {("blog.Post.body", 3), ("blog.Post.data", 2)}
    assert found.names() == {"legacy/photo's (1).png"}
    storage = content_urls.parse_storage_urls(
        run(content_urls.storage_urls_command(on_s3), content_urls.storage_urls_input(found.names())), "web1")
    assert storage.urls == {"legacy/photo's (1).png": "https://media-bucket.s3.example.test/media/legacy/photo's%20(1).png"}
    plan = rewrite.plan_rewrite(found.names(), found.names(), storage.urls.get, MEDIA)
    new = "https://media-bucket.s3.example.test/media/legacy/photo%27s%20(1).png"
    assert plan.urls == {"legacy/photo's (1).png": new} and plan.left == {}
    original = database(site)

    done = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, MEDIA, dry_run=False,
                                                                  record=str(tmp_path / "r.jsonl")),
                                     rewrite.plan_input(plan)), "web1")
    assert {row.field: row.after for row in done.rows} == {
        "body": f'<p><img src="{new}"> <img src=\'{new}\'> <a href="{new}">it\'s</a></p>',
        "data": {"hero": new, "list": [new + " 2x"]}}
    assert done.remains(MEDIA).url_fields == ()
    rewritten = database(site)

    # The bucket's URL is not an old one: a find counts it on the storage's host, a second run changes nothing.
    after = content_urls.parse_find(run(content_urls.find_command(on_s3, MEDIA)), "web1", MEDIA)
    assert after.url_fields == () and sum(field.on_storage for field in after.fields) == 5
    again = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, MEDIA, dry_run=True, hashes=True),
                                      rewrite.plan_input(plan)), "web1")
    assert (again.changed, again.rows, again.planned) == (0, (), ()) and database(site) == rewritten

    record = record_edits.read_record((tmp_path / "r.jsonl").read_text())[1]
    assert record == list(done.rows)
    restored = record_edits.parse_restore(run(content_urls.restore_command(on_disk), record_edits.restore_input(record)), "web1")
    assert (restored.restored, restored.named) == (2, ()) and database(site) == original


def test_the_label_of_a_models_file_is_not_a_path_even_when_a_file_has_its_name(summernote):
    """Attachment.name is what the upload was called; a file of that name at MEDIA_ROOT's top is chance."""
    found = content_urls.parse_find(run(content_urls.find_command(host(summernote), MEDIA)), "web1", MEDIA)
    assert {(field.field, field.form) for field in found.fields} == {("blog.Post.body", "url"),
                                                                   ("blog.Post.image_path", "path")}


def test_urls_on_the_storages_own_host_are_not_other_hosts_to_name_in_old_media_hosts(summernote):
    """After a rewrite the content holds the storage's URLs (custom_domain here): under the switched settings
    they are counted as the storage's, not offered as old hosts to name."""
    output = run(content_urls.find_command(host(summernote, "settings_s3"), MEDIA))
    report = content_urls.parse_find(output, "web1", MEDIA)
    rewritten = next(field for field in report.fields if field.field == "blog.Post.body")
    assert (rewritten.on_storage, rewritten.foreign_hosts) == (2, {"cdn.other.com": 1})
    assert report.storage_hosts == ("media-bucket.s3.example.test",)
    assert report.lines()[-2:] == [
        "web1: 2 URLs already on the storage's host (media-bucket.s3.example.test)",
        "web1: /media/ URLs on other hosts, left alone: cdn.other.com (1); name the site's old hosts in OLD_MEDIA_HOSTS"]
    # On disk the storage has no host of its own: the bucket's URLs are another host's.
    on_disk = content_urls.parse_find(run(content_urls.find_command(host(summernote), MEDIA)), "web1", MEDIA)
    assert next(field for field in on_disk.fields if field.field == "blog.Post.body").foreign_hosts == {
        "media-bucket.s3.example.test": 2, "cdn.other.com": 1}


def test_a_site_whose_settings_cannot_be_imported_is_one_line_naming_what_to_check(summernote):
    (summernote / "settings_broken.py").write_text("from settings import *  # noqa\nimport shop_not_installed  # noqa\n")
    output = run(content_urls.find_command(host(summernote, "settings_broken"), MEDIA))
    with pytest.raises(RemoteError) as failed:
        content_urls.parse_find(output, "web1", MEDIA)
    assert str(failed.value) == (
        "web1: looking for old media URLs in the content failed: the site's Django did not start under "
        "DJANGO_SETTINGS_MODULE=settings_broken (ModuleNotFoundError: No module named 'shop_not_installed'): check "
        "the host's MANAGE_PY, SITE_PYTHON (the site's virtualenv) and DJANGO_SETTINGS_MODULE")



def test_the_compare_and_set_runs_the_orms_sql_compiled_once_with_each_rows_parameters(site):
    """CompareAndSet (content_url_rows.py) on each kind of field the rewrite writes: a TextField, a JSONField
    (SQLite compares its stored text), a RichTextField of a multi-table child, a UUID key: compiled, not the
    ORM's row by row; a row that no longer holds the old value is not written (0); None goes to the ORM."""
    from deploy.site.site_python import program
    check = '''
import json
from blog.models import Article, Note, Post
results = {}
def cas(model, name, pk, old, new):
    field = model._meta.get_field(name)
    update = CompareAndSet(model, field)
    first = update(pk, old, new)
    return update, first
post = Post.objects.get(title="One")
update, first = cas(Post, "body", post.pk, post.body, "<p>new</p>")
results["text"] = [first, update.sql is not False, update(post.pk, "<p>not it</p>", "x"),
                   update(post.pk, "<p>new</p>", post.body), Post.objects.get(pk=post.pk).body == post.body]
update, first = cas(Post, "data", post.pk, post.data, {"hero": "https://b/x.png", "n": 1})
results["json"] = [first, update.sql is not False, Post.objects.get(pk=post.pk).data["hero"],
                   update(post.pk, {"hero": "nope"}, {}), update(post.pk, None, {})]
article = Article.objects.get(title="Art")
update, first = cas(Article, "summary", article.pk, article.summary, "See it.")
results["child"] = [first, update.sql is not False, Article.objects.get(pk=article.pk).summary]
note = Note.objects.get()
update, first = cas(Note, "text", note.pk, note.text, "moved")
results["uuid"] = [first, update.sql is not False, Note.objects.get(pk=note.pk).text]
print("RESULTS " + json.dumps(results))
'''
    text = "\n".join(program(name) for name in ("content_url_finder.py", "content_url_rows.py")) + check
    output = run(f"cd {site} && {site_python()} manage.py shell -c {shlex.quote(text)}")
    assert "RESULTS " in output, output[-2000:]
    results = json.loads(next(line for line in output.splitlines() if line.startswith("RESULTS "))[8:])
    assert results["text"] == [1, True, 0, 1, True]
    assert results["json"] == [1, True, "https://b/x.png", 0, 0]
    assert results["child"] == [1, True, "See it."]
    assert results["uuid"] == [1, True, "moved"]


def test_many_writes_a_batch_at_once_and_a_batch_with_a_changed_row_row_by_row(site):
    """CompareAndSet.many: rows in one executemany a batch; a batch whose row count falls short (a row that no
    longer holds what was read) rolled back to its savepoint and done row by row: each row's own answer."""
    from deploy.site.site_python import program
    check = '''
import json
from django.db import transaction
from blog.models import Post
for n in range(5):
    Post.objects.create(title="p%d" % n, body="old %d" % n)
rows = list(Post.objects.filter(title__startswith="p").order_by("pk").values_list("pk", "body"))
field = Post._meta.get_field("body")
with transaction.atomic():
    first = CompareAndSet(Post, field).many([(pk, body, body.replace("old", "new")) for pk, body in rows[:2]])
    stale = [(pk, body if n != 1 else "not what it holds", body.replace("old", "new"))
             for n, (pk, body) in enumerate(rows[2:])]
    second = CompareAndSet(Post, field).many(stale)
bodies = list(Post.objects.filter(title__startswith="p").order_by("pk").values_list("body", flat=True))
print("RESULTS " + json.dumps([first, second, bodies]))
'''
    text = "\n".join(program(name) for name in ("content_url_finder.py", "content_url_rows.py")) + check
    output = run(f"cd {site} && {site_python()} manage.py shell -c {shlex.quote(text)}")
    assert "RESULTS " in output, output[-2000:]
    first, second, bodies = json.loads(next(line for line in output.splitlines() if line.startswith("RESULTS "))[8:])
    assert first == [True, True] and second == [True, False, True]
    assert bodies == ["new 0", "new 1", "new 2", "old 3", "new 4"]


def test_the_flows_rewrite_prints_hashes_and_few_rows_records_whole_and_counts_what_it_leaves(site, tmp_path):
    """The dry run as the plan runs it (--hashes --shown 1): every row's key and hash, one row whole; the
    rewrite as the flow runs it (--record --shown 0): no row printed, every row in the record, whose rows,
    bytes and sha256 the report gives; and the old media URLs left (gone.png is not in the plan), as a find
    after it counts them."""
    on_disk, on_s3 = host(site), host(site, "settings_s3")
    found = content_urls.parse_find(run(content_urls.find_command(on_disk, FORMS, names_limit=0)), "web1", FORMS)
    names = found.names()
    storage = content_urls.parse_storage_urls(
        run(content_urls.storage_urls_command(on_s3), content_urls.storage_urls_input(names)), "web1")
    plan = rewrite.plan_rewrite(names, names - {"uploads/gone.png"}, storage.urls.get, FORMS)
    full = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, FORMS, dry_run=True),
                                     rewrite.plan_input(plan)), "web1")
    dry = rewrite.parse_rewrite(run(content_urls.rewrite_command(on_s3, FORMS, dry_run=True, shown=1, hashes=True),
                                    rewrite.plan_input(plan)), "web1")
    assert len(dry.rows) == 1 and dry.rows[0] == full.rows[0] and dry.changed == full.changed == 5
    assert rewrite.expected_hashes(dry.planned) == rewrite.expected_hashes(full.rows)

    record = tmp_path / "host" / "content.jsonl"
    output = run(content_urls.rewrite_command(on_s3, FORMS, dry_run=False, record=str(record), shown=0),
                 rewrite.plan_input(plan, rewrite.expected_hashes(dry.planned)))
    done = rewrite.parse_rewrite(output, "web1")
    assert rewrite.ROW_MARKER not in output and done.rows == () and done.changed == 5
    check = record_edits.RecordCheck("web1", str(record))
    check.feed(record.read_bytes())
    assert check.finish(done.record) == 5 and done.record["path"] == str(record)
    assert sorted(row.label for row in record_edits.read_record(record.read_text())[1]) == sorted(
        row.label for row in full.rows)
    after = content_urls.parse_find(run(content_urls.find_command(on_disk, FORMS)), "web1", FORMS)
    assert done.remains(FORMS).summary() == after.summary() == (
        "1 old media URL in 1 field (blog.Post.body 1; /static/media/…, //127.0.0.1:8001/static/media/…, "
        "//www.example.com/static/media/…)")
    assert done.remains(FORMS).fields_scanned == after.fields_scanned


MANY = '''
import random
random.seed(7)
names = ["uploads/a.png", "uploads/b%20c.png", "uploads/doc.pdf", "uploads/gone.png"]
def text(i):
    picked = random.sample(names, random.randint(0, 3))
    return " ".join('<img src="%s/static/media/%s">' % (random.choice(["", "https://www.example.com"]), name)
                    for name in picked) + " row %d" % i
Post.objects.bulk_create([Post(title="P%d" % i, body=text(i), data={"i": i, "hero": text(i)}) for i in range(700)])
Note.objects.bulk_create([Note(text=text(i)) for i in range(300)])
Post.objects.create(id=-5, title="a negative key", body='<img src="/static/media/uploads/doc.pdf">')
'''


def test_the_find_and_the_dry_run_say_the_same_whether_one_process_reads_or_several(tmp_path):
    """content_url_parts: every field's rows split among processes (by pk % parts for an integer key, by
    position for Note's UUID) give exactly the report and the plan one process gives, examples and names in
    the same order, the dry run's rows and hashes the same."""
    site = make_site(tmp_path / "site", "/static/media/", SEED + MANY, FILES)
    on_disk, on_s3 = host(site), host(site, "settings_s3")

    def with_parts(parts, command, stdin=b""):
        return run(f"export MEDIA_CUTOVER_CONTENT_PARTS={parts}; {command}", stdin)

    finds = {parts: with_parts(parts, content_urls.find_command(on_disk, FORMS, names_limit=0)) for parts in (1, 3)}
    reports = {parts: content_urls.parse_find(output, "web1", FORMS) for parts, output in finds.items()}
    assert reports[1] == reports[3] and reports[1].errors == ()   # the row of key -5 too (SQL's % keeps the sign)
    body = next(field for field in reports[1].fields if field.field == "blog.Post.body")
    assert body.rows > 500 and len(body.examples) == 3
    names = reports[1].names()
    storage = content_urls.parse_storage_urls(
        run(content_urls.storage_urls_command(on_s3), content_urls.storage_urls_input(names)), "web1")
    plan = rewrite.plan_rewrite(names, names - {"uploads/gone.png"}, storage.urls.get, FORMS)
    original = database(site)
    dry = {parts: with_parts(parts, content_urls.rewrite_command(on_s3, FORMS, dry_run=True, shown=5, hashes=True),
                             rewrite.plan_input(plan)) for parts in (1, 3)}
    assert database(site) == original
    results = {parts: rewrite.parse_rewrite(output, "web1") for parts, output in dry.items()}
    assert results[1] == results[3]
    assert len(results[1].rows) == 5 and len(results[1].planned) > 1000


def test_the_find_with_storage_urls_gives_what_the_storage_urls_command_gives(seeded):
    """The rewrite's find asks the storage's URLs in the same start-up (``--storage-urls``): exactly those the
    storage-urls command gives the URL-form names it lists."""
    on_s3 = host(seeded, "settings_s3")
    report = content_urls.parse_find(run(content_urls.find_command(on_s3, FORMS, names_limit=0, storage_urls=True)),
                                     "web1", FORMS)
    names = report.names()
    asked = content_urls.parse_storage_urls(
        run(content_urls.storage_urls_command(on_s3), content_urls.storage_urls_input(names)), "web1")
    assert report.storage == asked and set(asked.urls) == names and len(names) == 4
    plain = content_urls.parse_find(run(content_urls.find_command(on_s3, FORMS, names_limit=0)), "web1", FORMS)
    assert plain.storage is None


def test_the_rewrites_find_gives_each_fields_characters_as_the_database_sums_them(seeded):
    """``--chars``: the characters of the rows each URL field's old media URLs are in (the candidates: the
    database's filter), which the room for the rewrite's record is judged by."""
    report = content_urls.parse_find(run(content_urls.find_command(host(seeded), FORMS, names_limit=0, chars=True)),
                                     "web1", FORMS)
    with sqlite3.connect(seeded / "db.sqlite3") as connection:
        def chars(table, column):
            return connection.execute(f"SELECT SUM(LENGTH({column})) FROM {table} WHERE {column} LIKE "
                                      "'%/static/media/%'").fetchone()[0]
        expected = {"blog.Post.body": chars("blog_post", "body"), "blog.Post.data": chars("blog_post", "data"),
                    "blog.Article.summary": chars("blog_article", "summary"),
                    "blog.Page.content": chars("blog_page", "content"), "blog.Note.text": chars("blog_note", "text")}
    assert report.chars == expected and all(expected.values())
    assert content_urls.parse_find(run(content_urls.find_command(host(seeded), FORMS)), "web1", FORMS).chars == {}


def test_a_record_that_would_leave_too_little_free_rolls_its_model_back_and_says_so(site, tmp_path):
    """The program checks each model's lines against the room on the record's filesystem before it commits:
    asked to keep more free than the disk has, no model commits, the record holds no row, and the message
    names the directory and the bytes."""
    on_disk, on_s3 = host(site), host(site, "settings_s3")
    names = content_urls.parse_find(run(content_urls.find_command(on_disk, FORMS, names_limit=0)), "web1",
                                    FORMS).names()
    storage = content_urls.parse_storage_urls(
        run(content_urls.storage_urls_command(on_s3), content_urls.storage_urls_input(names)), "web1")
    plan = rewrite.plan_rewrite(names, names, storage.urls.get, FORMS)
    before = database(site)
    record = tmp_path / "host" / "content.jsonl"
    output = run(content_urls.rewrite_command(on_s3, FORMS, dry_run=False, record=str(record), shown=0,
                                              record_reserve=1 << 60), rewrite.plan_input(plan))
    assert database(site) == before and record.read_bytes() == b""
    said = record_edits.record_report(output)
    assert said["rows"] == 0
    with pytest.raises(RemoteError) as failed:
        rewrite.parse_rewrite(output, "web1")
    assert f"no room for the record in {record.parent}: " in str(failed.value)
    assert f"bytes are free and {1 << 60} are kept free; free some space there and run the rewrite again" in str(
        failed.value)
