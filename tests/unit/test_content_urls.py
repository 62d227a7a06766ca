"""Old media URLs in the site's content, the pure parts: the forms looked for, the program's command lines and
reports (deploy/site/facts/content_urls.py), the rewrite's plan and diff (deploy/site/edits/content_urls.py), its
record and restore (deploy/site/edits/content_url_record.py).

The program itself, against a real Django and database: test_content_urls_django.py.
"""

import json
import shlex
from urllib.parse import unquote

import pytest

from deploy.config.types import HostSettings
from deploy.errors import ConfigError, RemoteError
from deploy.site.edits import content_url_record as record_edits
from deploy.site.edits import content_urls as rewrite
from deploy.site.facts import content_urls
from deploy.site.facts.content_urls import MARKER, url_forms
from deploy.site.site_python import program
from deploy.text_table import counted

HOST = HostSettings(alias="web1", settings_path="~/site/local_settings.py", reload_command="true",
                    site_url="http://10.0.0.5:8001", health_url=None, manage_py="~/site/manage.py",
                    site_python="~/venv/bin/python", settings_module="shop.settings.production")
FORMS = url_forms("/media/", ["http://10.0.0.5:8001"], ["WWW.example.com"])


# --- the forms ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("media_url, expected", [
    ("/media/", "/media/"), ("/static/media/", "/static/media/"), ("/uploads", "/uploads/"), ("media/", "/media/"),
    ("https://Media.Example.com/", "https://media.example.com/"), ("//media.example.com/m/", "https://media.example.com/m/"),
])
def test_the_disk_media_url_as_a_path_or_an_absolute_url(media_url, expected):
    forms = url_forms(media_url, ["https://www.example.com"], [])
    assert forms.media_url == expected
    assert forms.relative == expected.startswith("/")


def test_the_hosts_are_site_urls_and_old_media_hosts_once_each_lower_case():
    forms = url_forms("https://media.example.com/", ["https://www.example.com", "https://WWW.example.com/"],
                      ["old.example.net", "www.example.com"])
    assert forms.hosts == ("www.example.com", "old.example.net", "media.example.com")
    assert forms.arguments() == ["--media-url", "https://media.example.com/", "--host", "www.example.com",
                                 "--host", "old.example.net", "--host", "media.example.com"]
    assert forms.shown() == ["//www.example.com/…", "//old.example.net/…", "//media.example.com/…"]
    assert FORMS.shown() == ["/media/…", "//10.0.0.5:8001/media/…", "//www.example.com/media/…"]


@pytest.mark.parametrize("media_url, old_hosts, message", [
    ("https://bucket.s3.eu-west-1.amazonaws.com/media/", [], "is the bucket's host"),   # the switched MEDIA_URL
    ("/media/", ["bucket.s3.eu-west-1.amazonaws.com"], "is the bucket's host"),
    ("/", [], "cannot be told from its pages"),
    ("ftp://files.example.com/", [], "expected a path such as /media/"),
])
def test_forms_that_would_be_wrong_are_refused(media_url, old_hosts, message):
    with pytest.raises(ConfigError, match=message):
        url_forms(media_url, [], old_hosts, bucket_url="https://bucket.s3.eu-west-1.amazonaws.com")


# --- command lines -----------------------------------------------------------------------------------

def sent(command):
    """(the environment words, the manage.py words, the program's text) of a site_shell command."""
    words = shlex.split(command.split(" && ", 1)[1])
    text = words[words.index("-c") + 1]
    return words, text


def test_the_find_runs_the_three_parts_in_the_site_under_its_settings_module():
    words, text = sent(content_urls.find_command(HOST, FORMS, media_root="~/media", names_limit=0))
    assert "DJANGO_SETTINGS_MODULE=shop.settings.production" in words and words[-3:-1] == ["shell", "-c"]
    parts = [program(name) for name in content_urls.SCRIPT_FILES]
    assert text.startswith("\n".join(parts))
    assert text.endswith("raise SystemExit(main(['find', '--media-url', '/media/', '--host', '10.0.0.5:8001', "
                         "'--host', 'www.example.com', '--names-limit', '0', '--media-root', '~/media']))\n")


def test_the_rewrite_restore_and_storage_urls_command_lines():
    _, text = sent(content_urls.rewrite_command(HOST, FORMS, dry_run=True))
    assert text.endswith("main(['rewrite', '--media-url', '/media/', '--host', '10.0.0.5:8001', '--host', "
                         "'www.example.com', '--dry-run']))\n")
    _, text = sent(content_urls.rewrite_command(HOST, FORMS, dry_run=False, record="~/.media-cutover/content/r.jsonl"))
    assert text.endswith("'--record', '~/.media-cutover/content/r.jsonl']))\n")
    assert sent(content_urls.restore_command(HOST))[1].endswith("main(['restore']))\n")
    assert sent(content_urls.storage_urls_command(HOST))[1].endswith("main(['storage-urls']))\n")
    words, _ = sent(content_urls.find_command(HOST, FORMS, env_file="~/site/.env", switch_name="MEDIA_ON_S3"))
    assert "MEDIA_CUTOVER_SWITCH=MEDIA_ON_S3" in words and any(word.startswith("MEDIA_CUTOVER_ENV_FILE=") for word in words)
    assert json.loads(content_urls.storage_urls_input(["b", "a", "b"])) == ["a", "b"]


# --- the find's report -------------------------------------------------------------------------------

FIELD = {"field": "blog.Post.body", "type": "RichTextField", "form": "url", "candidates": 12, "rows": 10,
         "urls": 25, "examples": ["/media/a.png", "https://www.example.com/media/b.pdf", "/media/c.png"],
         "names": ["a.png", "b.pdf", "c.png"], "names_total": 4, "on_disk": 3, "missing_on_disk": ["d.png"],
         "foreign_hosts": {"cdn.other.com": 2}, "unnamed": 0}
PATHS = dict(FIELD, field="pages.Page.picture", type="FileBrowseField", form="path", rows=3, urls=3,
             examples=["uploads/x.jpg"], names=["uploads/x.jpg"], names_total=1, on_disk=1, foreign_hosts={})


def output(data, before="5 objects imported automatically (use -v 2 for details).\n"):
    return before + MARKER + json.dumps(data) + "\n"


def test_the_report_says_per_field_rows_urls_examples_and_where_the_files_are():
    report = content_urls.parse_find(output({"fields": [FIELD, PATHS], "fields_scanned": 9, "errors": [
        {"field": "legacy.Old.text", "error": "OperationalError: no such table: legacy_old"}]}), "web1", FORMS)
    assert report.names() == {"a.png", "b.pdf", "c.png"} and report.names("path") == {"uploads/x.jpg"}
    assert report.lines(in_bucket={"a.png", "b.pdf", "uploads/x.jpg"}) == [
        "web1: blog.Post.body (RichTextField): 10 rows, 25 URLs, e.g. /media/a.png, "
        "https://www.example.com/media/b.pdf, /media/c.png; 4 files: 3 on disk, 2 in the bucket (of the 3 listed)",
        "web1: pages.Page.picture (FileBrowseField): 3 rows hold a file's path (a name: it follows the switch), "
        "e.g. uploads/x.jpg; 1 file: 1 on disk, 1 in the bucket",
        "web1: /media/ URLs on other hosts, left alone: cdn.other.com (2); name the site's old hosts in OLD_MEDIA_HOSTS",
        "web1: not read: legacy.Old.text: OperationalError: no such table: legacy_old"]


def test_urls_on_the_storages_host_are_said_apart_and_kept_out_of_the_old_hosts_hint():
    rewritten = dict(FIELD, rows=0, urls=0, examples=[], names=[], names_total=0, on_disk=0, missing_on_disk=[],
                     on_storage=10, foreign_hosts={"cdn.other.com": 1})
    report = content_urls.parse_find(output({"fields": [rewritten], "fields_scanned": 9,
                                             "storage_hosts": ["media.example-cdn.test"]}), "web1", FORMS)
    assert report.lines() == [
        "web1: no old media URL (/media/…, //10.0.0.5:8001/media/…, //www.example.com/media/…) in the content "
        "(9 text fields read)",
        "web1: 10 URLs already on the storage's host (media.example-cdn.test)",
        "web1: /media/ URLs on other hosts, left alone: cdn.other.com (1); name the site's old hosts in OLD_MEDIA_HOSTS"]
    assert report.notes() == [line.removeprefix("web1: ") for line in report.lines()[1:]] and not report.url_fields
    # An older program's output has neither: nothing on the storage.
    old = content_urls.parse_find(output({"fields": [FIELD], "fields_scanned": 9}), "web1", FORMS)
    assert (old.fields[0].on_storage, old.storage_hosts) == (0, ())


def test_a_report_with_nothing_found_names_the_forms_looked_for():
    report = content_urls.parse_find(output({"fields": [], "fields_scanned": 7}), "web1", FORMS)
    assert report.lines() == ["web1: no old media URL (/media/…, //10.0.0.5:8001/media/…, //www.example.com/media/…) "
                              "in the content (7 text fields read)"]


@pytest.mark.parametrize("printed, message", [
    (output({"command": "find", "error": "settings.MEDIA_URL is https://b/: pass --media-url"}),
     "web1: looking for old media URLs in the content failed: settings.MEDIA_URL is"),
    ("Traceback (most recent call last):\nImportError: No module named django\n",
     r"printed no report \(Traceback .* \| ImportError: No module named django\)"),
])
def test_a_failed_program_is_a_remote_error_with_its_words(printed, message):
    with pytest.raises(RemoteError, match=message):
        content_urls.parse_find(printed, "web1", FORMS)


def test_the_storage_urls_answer():
    answer = content_urls.parse_storage_urls(output({"backend": "storages.backends.s3.S3Storage", "local": False,
                                                     "urls": {"a.png": "https://b.s3/media/a.png"}}), "web1")
    assert (answer.local, answer.urls) == (False, {"a.png": "https://b.s3/media/a.png"})


# --- the plan ----------------------------------------------------------------------------------------

def test_the_plan_takes_the_storages_url_for_names_in_the_bucket_only_if_plain_and_stable():
    urls = {"a.png": "https://b.s3.amazonaws.com/media/a.png",
            "signed.png": "https://b.s3.amazonaws.com/media/signed.png?X-Amz-Signature=abc",
            "disk.png": "/media/disk.png",
            "signed'quote.png": "https://b.s3.amazonaws.com/media/signed'quote.png?X-Amz-Signature=abc",
            "back\\slash.png": "https://b.s3.amazonaws.com/media/back\\slash.png",
            "host.png": "https://b'.s3.amazonaws.com/media/host.png",
            "old.png": "https://www.example.com/media/old.png"}
    plan = rewrite.plan_rewrite([*urls, "gone.png", "a.png"], in_bucket=set(urls), url_of=urls.get, forms=FORMS)
    assert plan.urls == {"a.png": "https://b.s3.amazonaws.com/media/a.png"}
    unsafe = "the storage's URL holds a backslash or a whitespace other than a space, or a quote or a space in its host"
    assert plan.left == {
        "signed.png": "the storage's URL has a query (a signed URL expires: querystring_auth=False)",
        "signed'quote.png": "the storage's URL has a query (a signed URL expires: querystring_auth=False)",
        "disk.png": "the storage gives no absolute URL (the site does not serve from the bucket)",
        "back\\slash.png": unsafe, "host.png": unsafe,
        "old.png": "the storage's URL is on an old media host",
        "gone.png": "not in the bucket"}
    assert plan.lines()[0] == "1 file: their old URLs become the storage's URLs"
    assert "1 file left as it is: not in the bucket (e.g. gone.png)" in plan.lines()
    assert json.loads(rewrite.plan_input(plan, {"blog.Post.body": {"1": "h"}})) == {
        "urls": plan.urls, "expected": {"blog.Post.body": {"1": "h"}}}


BUCKET = "https://media-bucket.s3.example.test/media/"
# What django-storages gives (Django's filepath_to_uri leaves ' ( ) as they are), and what a storage might.
STORAGE = {"legacy/photo's (1).png": BUCKET + "legacy/photo's%20(1).png",
           "legacy/my photo.png": BUCKET + "legacy/my photo.png",
           'odd "<name>" `x`.png': BUCKET + 'odd "<name>" `x`.png',
           "x%41.png": BUCKET + "x%2541.png"}


def test_a_quote_or_a_space_in_the_storages_url_is_percent_encoded_in_its_path():
    plan = rewrite.plan_rewrite(STORAGE, set(STORAGE), STORAGE.get, FORMS)
    assert plan.urls == {"legacy/photo's (1).png": BUCKET + "legacy/photo%27s%20(1).png",
                         "legacy/my photo.png": BUCKET + "legacy/my%20photo.png",
                         'odd "<name>" `x`.png': BUCKET + "odd%20%22%3Cname%3E%22%20%60x%60.png",
                         "x%41.png": BUCKET + "x%2541.png"}   # an existing %XX stays as it is
    assert plan.left == {} and plan.encoded == ("legacy/my photo.png", "legacy/photo's (1).png", 'odd "<name>" `x`.png')
    assert plan.lines()[1] == ("3 files have a quote, a space or an angle bracket in the storage's URL: written "
                               "%-encoded (the same key; e.g. legacy/my photo.png, legacy/photo's (1).png, "
                               'odd "<name>" `x`.png)')
    # The same object: the bucket decodes the path, as the storage's own URL is decoded.
    for name, url in plan.urls.items():
        assert unquote(url.removeprefix(BUCKET)) == unquote(STORAGE[name].removeprefix(BUCKET)) == name
    assert rewrite.plan_rewrite(["a.png"], {"a.png"}, {"a.png": BUCKET + "a.png"}.get, FORMS).lines() == [
        "1 file: their old URLs become the storage's URLs"]


@pytest.mark.parametrize("url, expected", [
    ("https://b.test/media/it's.png", "https://b.test/media/it%27s.png"),
    ("HTTPS://B.test/media/a b.png", "HTTPS://B.test/media/a%20b.png"),         # the scheme and host as given
    ("https://b'.test/a'b.png", "https://b'.test/a%27b.png"),                    # a host's quote: refused after
    ("https://b.test/a'b.png?x='1'#f'", "https://b.test/a%27b.png?x='1'#f'"),    # a query: refused after
    ("https://b.test/a%27b%20c.png", "https://b.test/a%27b%20c.png"),
    ("/media/a'b.png", "/media/a'b.png"),                                        # not absolute: refused after
])
def test_only_the_path_is_encoded(url, expected):
    assert rewrite.attribute_safe(url) == expected


# --- the rewrite's rows, diff, record and restore ----------------------------------------------------

ROWS = [rewrite.RowChange("blog.Post", "body", 1, '<p><img src="/media/a.png"></p>',
                          '<p><img src="https://b.s3/media/a.png"></p>', "h1"),
        rewrite.RowChange("blog.Note", "data", "0b8e-uuid", {"hero": "/media/a.png", "n": 1},
                          {"hero": "https://b.s3/media/a.png", "n": 1}, "h2")]


def rewrite_output(dry_run, fields):
    rows = "".join(rewrite.ROW_MARKER + json.dumps(row.data()) + "\n" for row in ROWS)
    return rows + MARKER + json.dumps({"command": "rewrite", "dry_run": dry_run, "fields": fields, "failed": []}) + "\n"


def test_the_rewrites_rows_and_lines_name_the_rows_skipped():
    fields = [{"field": "blog.Post.body", "changed": 1, "skipped_total": 3, "skipped": [
        {"pk": 7, "why": "changed since the dry run"}, {"pk": 9, "why": "not in the dry run"}]},
              {"field": "blog.Note.data", "changed": 1, "skipped_total": 0, "skipped": []}]
    result = rewrite.parse_rewrite(rewrite_output(False, fields), "web1")
    assert list(result.rows) == ROWS
    assert result.lines() == [
        "web1: blog.Post.body: changed 1 row; skipped 3: pk 7 (changed since the dry run), pk 9 (not in the dry run) "
        "and 1 more",
        "web1: blog.Note.data: changed 1 row"]
    assert rewrite.expected_hashes(result.rows) == {"blog.Post.body": {"1": "h1"}, "blog.Note.data": {"0b8e-uuid": "h2"}}
    assert rewrite.parse_rewrite(rewrite_output(True, []), "web1").lines() == [
        "web1: no row to change: no old URL of a planned file is left"]


def test_the_dry_runs_diff_shows_each_change_on_a_short_line():
    html = "<p>" + "words " * 30 + "</p>" + '<img src="/media/a.png">' + "<p>end</p>"
    row = rewrite.RowChange("blog.Post", "body", 1, html, html.replace("/media/a.png", "https://b.s3/media/a.png"), "h")
    assert rewrite.diff(row).splitlines() == [
        "--- blog.Post.body pk=1 (now)", "+++ blog.Post.body pk=1 (rewritten)", "@@ -3,3 +3,3 @@",
        " " + "words " * 14 + "</p>", '-<img src="/media/a.png">', '+<img src="https://b.s3/media/a.png">', " <p>"]
    json_diff = rewrite.diff(ROWS[1])
    assert '-  "hero": "/media/a.png",' in json_diff and '+  "hero": "https://b.s3/media/a.png",' in json_diff


def test_the_record_is_a_header_and_a_json_line_a_row_read_back_as_written():
    text = record_edits.record_text(ROWS, run_id="20260101T000000Z-abc", env="prod", media_url="/media/")
    header, rows = record_edits.read_record(text)
    assert header == {"record": record_edits.RECORD_KIND, "run_id": "20260101T000000Z-abc", "env": "prod",
                      "media_url": "/media/"}
    assert rows == ROWS
    assert [json.loads(line) for line in record_edits.restore_input(rows).decode().splitlines()] == [row.data() for row in ROWS]
    with pytest.raises(ValueError, match="line 2 of the record is not a row"):
        record_edits.read_record(text.replace('"model"', '"modle"'))


def test_the_restores_lines_name_each_row_not_put_back():
    printed = MARKER + json.dumps({"command": "restore", "restored": 4, "already": 1, "named": [
        {"model": "blog.Post", "field": "body", "pk": 3, "why": "changed since the rewrite"}]})
    assert record_edits.parse_restore(printed, "web1").lines() == [
        "web1: 4 rows put back, 1 held their old value already",
        "web1: NOT put back: blog.Post.body pk 3 (changed since the rewrite)"]


def test_one_of_a_thing_is_said_in_the_singular():
    assert [counted(number, "row") for number in (0, 1, 2)] == ["0 rows", "1 row", "2 rows"]
    one = dict(PATHS, rows=1, urls=1)
    report = content_urls.parse_find(output({"fields": [dict(FIELD, rows=1, urls=1, names_total=1), one],
                                             "fields_scanned": 1, "storage_hosts": ["b.example"]}), "web1", FORMS)
    assert report.lines()[:2] == [
        "web1: blog.Post.body (RichTextField): 1 row, 1 URL, e.g. /media/a.png, https://www.example.com/media/b.pdf, "
        "/media/c.png; 1 file: 3 on disk",
        "web1: pages.Page.picture (FileBrowseField): 1 row holds a file's path (a name: it follows the switch), "
        "e.g. uploads/x.jpg; 1 file: 1 on disk"]
    assert report.summary().startswith("1 old media URL in 1 field (blog.Post.body 1;")
    assert content_urls.parse_find(output({"fields": [], "fields_scanned": 1}), "web1", FORMS).summary().endswith(
        " in 1 text field")
    assert record_edits.RestoreResult("web1", 1, 1, ()).lines() == ["web1: 1 row put back, 1 held their old value already"]
