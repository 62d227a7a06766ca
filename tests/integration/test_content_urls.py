"""Old media URLs that the content stores, end to end on the sandbox (issue 25): the find's exact counts, the
cutover's health reading a page of rich text (its old URLs counted as content references, not a failed
switch), reclaim refused while they remain, `invoke rewrite-urls` (a dry run that writes nothing but its plan
under runs/, a row edited between it and the rewrite skipped and named, 0 old URLs left, every rewritten image
fetched 200 from the bucket, a record of mode 600), and the rollback that puts every rewritten value back byte for byte; and a
site whose MEDIA_URL on disk is /static/media/ cutting over and back.

The sandbox's site seeds 24 articles (``deploy.sandbox.seeded_content``): 5 old media URLs each, 3 in the
rich-text body (2 relative, 1 absolute on web1's SITE_URL), 2 in a JSONField."""

from __future__ import annotations

import json
import re
import shlex
import stat
from pathlib import Path

import pytest

from deploy.sandbox import seeded_content, shapes

from .sandbox_client import Sandbox, http_get, invoke, reset, shapes_up
from .test_reclaim import md5s
from .test_rollback import fab

pytestmark = pytest.mark.slow

ARTICLE_PAGE = "/articles/seed-000001/"
PAGES = {"MEDIA_CHECK_PATHS": f"/files/?limit=50,{ARTICLE_PAGE}"}
DUMP_ARTICLES = ("from django.db import connection\n"
                 "import json\n"
                 "cursor = connection.cursor()\n"
                 "cursor.execute('SELECT id, body, data FROM gallery_article ORDER BY id')\n"
                 "print('ARTICLES ' + json.dumps({str(row[0]): [row[1], row[2]] for row in cursor.fetchall()}))\n")


def articles(sandbox: Sandbox, alias: str = "web1", site: str = "site") -> dict[str, list[str]]:
    """id -> [body, data] of every article, the columns' text as the database holds it (byte for byte)."""
    said = sandbox.ssh(alias, f"cd ~/{site} && ~/site-venv/bin/python manage.py shell -c {shlex.quote(DUMP_ARTICLES)}")
    [line] = [line for line in said.stdout.splitlines() if line.startswith("ARTICLES ")]
    return json.loads(line[len("ARTICLES "):])


def edit_article(sandbox: Sandbox, pk: int, appended: str) -> None:
    code = (f"from gallery.models import Article\n"
            f"a = Article.objects.get(pk={pk}); a.body += {appended!r}; a.save(update_fields=['body'])\n")
    sandbox.ssh("web1", f"cd ~/site && ~/site-venv/bin/python manage.py shell -c {shlex.quote(code)}")


def field_counts(output: str) -> dict[str, tuple[int, int]]:
    """`invoke content-urls`' table: field -> (rows, URLs)."""
    return {match[1]: (int(match[2]), int(match[3]))
            for match in re.finditer(r"^(\w+\.\w+\.\w+)\s+(\d+)\s+(\d+)\s", output, re.MULTILINE)}


def content_records(project_root: Path) -> set[Path]:
    return set((project_root / "runs").glob("*-sandbox-content-urls.record"))


def test_find_rewrite_and_rollback_of_the_contents_old_media_urls(sandbox, project_root, monkeypatch):
    reset(project_root)
    sandbox = Sandbox.load(project_root)
    counts = sandbox.state["content"]["counts"]
    rows = counts["rows"]
    seeded = articles(sandbox)
    assert len(seeded) == rows
    first, edited = sorted(seeded, key=int)[:2]   # the seeding makes the rows again when they differ: new ids

    # The find: the exact counts of the seeded content, on disk.
    found = invoke(project_root, "content-urls", "--env=sandbox").stdout
    assert field_counts(found) == {"gallery.Article.body": (rows, counts["body_urls"]),
                                   "gallery.Article.data": (rows, counts["data_urls"])}, found
    assert "looking for /media/ (the site's MEDIA_URL)" in found

    # The cutover reads a page of rich text: its old URLs are the content's, not a site that failed to switch.
    cutover = invoke(project_root, "cutover", "--env=sandbox", env=PAGES).stdout
    assert f"{counts['urls']} old media URLs in 2 fields" in cutover
    assert re.search(rf"web1: {ARTICLE_PAGE} 1 media URL in the bucket, 5 content references", cutover), cutover
    assert "storage=mixed" not in cutover

    # Reclaim refuses while they remain, and changes nothing.
    root = sandbox.media_root()
    tree = md5s(root)
    refused = invoke(project_root, "reclaim", "--env=sandbox", "--delete-local", check=False)
    assert refused.returncode != 0
    assert "still ask the disk reclaim frees" in refused.stdout + refused.stderr
    assert "invoke rewrite-urls --env=sandbox" in refused.stdout + refused.stderr
    assert md5s(root) == tree

    # A dry run shows each change as a diff and writes nothing.
    earlier = content_records(project_root)
    dry = invoke(project_root, "rewrite-urls", "--env=sandbox", "--dry-run").stdout
    assert f"--- gallery.Article.body pk={first} (now)" in dry and f"+++ gallery.Article.body pk={first} (rewritten)" in dry
    assert f"gallery.Article.body: would change {rows} rows" in dry
    assert articles(sandbox) == seeded and content_records(project_root) == earlier

    # The rewrite holds each row to that dry run: a row an editor saved since is skipped and named.
    assert f"the rows as read now: {project_root / 'runs'}" in dry
    edit_article(sandbox, int(edited), "<p>edited meanwhile</p>")
    output = invoke(project_root, "rewrite-urls", "--env=sandbox").stdout
    assert "each row held to the dry run " in output, output
    assert re.search(r"==> room for the record\n    the record of up to \d+ rows takes about [\d.]+ MB: web1 has "
                     r"[\d,]+ MB free in \S+/content-urls, this machine [\d,]+ MB in \S+/runs\n", output), output
    assert f"gallery.Article.body: changed {rows - 1} rows; skipped 1: pk {edited} (changed since the dry run)" in output, output
    assert f"gallery.Article.data: changed {rows} rows" in output
    [record] = content_records(project_root) - earlier
    assert stat.S_IMODE(record.stat().st_mode) == 0o600

    # Left: only the skipped row's three; every rewritten URL fetches 200 from the bucket, anonymously.
    left = invoke(project_root, "content-urls", "--env=sandbox").stdout
    assert field_counts(left) == {"gallery.Article.body": (1, 3)}, left
    now = articles(sandbox)
    bucket_base = sandbox.state["s3"]["endpoint"].rstrip("/") + "/" + sandbox.state["s3"]["bucket"] + "/media/"
    rewritten = sorted({url for pk, values in now.items() if pk != edited for value in values
                        for url in re.findall(re.escape(bucket_base) + r'[^"\s<>]+', value)})
    assert len(rewritten) >= counts["names"] - 5
    for url in rewritten:
        status, _, _ = http_get(url)
        assert status == 200, f"{url}: {status}"
    assert not any("/media/user_media" in value.replace(bucket_base, "") for pk, values in now.items()
                   if pk != edited for value in values)

    # A second run (the dry run used) takes the row skipped as it reads it (its own record); a third changes nothing.
    again = invoke(project_root, "rewrite-urls", "--env=sandbox").stdout
    assert "no dry run since the last rewrite" in again and "gallery.Article.body: changed 1 row" in again, again
    now = articles(sandbox)
    third = invoke(project_root, "rewrite-urls", "--env=sandbox").stdout
    assert "nothing to rewrite" in third and articles(sandbox) == now
    assert len(content_records(project_root) - earlier) == 2

    # The rollback puts every rewritten value back byte for byte (the edited article as its editor left it).
    back = fab(project_root, "rollback", "--env=sandbox", env=PAGES).stdout
    assert f"web1: {2 * rows - 1} rows put back" in back and "web1: 1 row put back" in back, back
    restored = articles(sandbox)
    expected = dict(seeded, **{edited: [seeded[edited][0] + "<p>edited meanwhile</p>", seeded[edited][1]]})
    assert restored == expected
    assert all((path.parent / (path.name + ".restored")).exists() for path in content_records(project_root) - earlier)
    # `invoke status` does not keep the rewrite's "no old media URL": the rollback put them back since.
    status = invoke(project_root, "status", "--env=sandbox").stdout
    assert re.search(rf"since then rollback \S+ put {2 * rows} rows back at [^:]+:\d\d:\d\d UTC: they hold old media "
                     r"URLs again \(`invoke content-urls --env=sandbox` counts them\)", status), status
    reset(project_root)


def test_a_site_whose_media_url_is_static_media_cuts_over_and_back(sandbox, project_root):
    shapes_up(project_root, "staticmedia", 400)
    sandbox = Sandbox.load(project_root)
    counts = seeded_content.expected_counts(seeded_content.DEFAULT_ROWS, shapes.STATICMEDIA_FILES - 2)
    try:
        cutover = invoke(project_root, "cutover", "--env=sandbox-staticmedia").stdout
        assert "media on disk under /static/media/ (the site's MEDIA_URL)" in cutover, cutover
        assert re.search(rf"web1: {ARTICLE_PAGE} 1 media URL in the bucket, 5 content references", cutover), cutover
        found = invoke(project_root, "content-urls", "--env=sandbox-staticmedia").stdout
        assert "looking for /static/media/ (the site's MEDIA_URL)" in found, found
        assert field_counts(found) == {"gallery.Article.body": (counts.rows, counts.body_urls),
                                       "gallery.Article.data": (counts.rows, counts.data_urls)}, found
        fab(project_root, "rollback", "--env=sandbox-staticmedia")
        for alias in sandbox.aliases:
            page = sandbox.state["shapes"]["staticmedia"]["hosts"][alias]["page_url"]
            status, body, _ = http_get(page)
            assert status == 200 and b"/static/media/" in body
    finally:
        invoke(project_root, "sandbox.reset", "--shape=staticmedia", "--empty-bucket", check=False)
