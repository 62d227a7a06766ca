"""bench/content_urls_bench.py's pure parts, without the sandbox: its arguments, the peer's SQL (quoted, and
right when run by SQLite), what it reads from sqlite3 and the journals, and the section it writes."""

import json
import shutil
import sqlite3
import subprocess

import pytest

from bench.content_urls_bench import (HEADLINE, PeerForms, counted, parse_args, parse_peer, peer_sql, render,
                                      sql_literal, step_seconds, with_section)

FORMS = PeerForms.of("/media/", ["http://127.0.0.1:18101", "http://127.0.0.1:18102/"],
                     "http://127.0.0.1:18333/media-cutover-sandbox", "media")
BASE = "http://127.0.0.1:18333/media-cutover-sandbox/media/"


def test_the_arguments_default_to_three_runs_of_100000_rows_and_refuse_less_than_one():
    args = parse_args([])
    assert (args.runs, args.rows) == (3, 100_000)
    assert (parse_args(["--runs", "5", "--rows", "24"]).runs, parse_args(["--rows", "24"]).rows) == (5, 24)
    with pytest.raises(SystemExit):
        parse_args(["--runs", "0"])


def test_a_literal_doubles_its_quotes_and_refuses_a_nul():
    assert sql_literal("/media/") == "'/media/'"
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal("''") == "''''''"
    assert sql_literal("a\\b") == "'a\\b'"            # SQL has no backslash escapes
    with pytest.raises(ValueError):
        sql_literal("a\x00b")


def test_the_forms_are_the_relative_path_each_sites_absolute_one_and_the_buckets_base():
    assert FORMS.relative == "/media/"
    assert FORMS.absolute == ("http://127.0.0.1:18101/media/", "http://127.0.0.1:18102/media/")
    assert FORMS.base == BASE
    assert PeerForms.of("static/media", ["http://a", "http://a/"], "http://s3/b/", "").absolute == ("http://a/static/media/",)
    assert PeerForms.of("static/media", [], "http://s3/b/", "").base == "http://s3/b/"


def test_the_peer_is_one_update_of_both_columns_the_absolute_forms_made_relative_first():
    script = peer_sql(FORMS)
    assert script.startswith(".bail on\n.timeout 30000\n.timer on\n")
    update = next(line for line in script.splitlines() if line.startswith("UPDATE "))
    assert update == (
        "UPDATE gallery_article SET "
        "body = REPLACE(REPLACE(REPLACE(body, 'http://127.0.0.1:18101/media/', '/media/'), "
        "'http://127.0.0.1:18102/media/', '/media/'), '/media/', '" + BASE + "'), "
        "data = REPLACE(REPLACE(REPLACE(data, 'http://127.0.0.1:18101/media/', '/media/'), "
        "'http://127.0.0.1:18102/media/', '/media/'), '/media/', '" + BASE + "') "
        "WHERE instr(body, '/media/') > 0 OR instr(data, '/media/') > 0;")
    assert "SELECT 'changed ' || changes();" in script


def _table(path):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE gallery_article (id INTEGER PRIMARY KEY, body TEXT, data TEXT)")
    rows = [(1, '<img src="/media/a.png"><a href="http://127.0.0.1:18101/media/b%20c.pdf">b</a> it\'s',
             json.dumps({"hero": {"url": "/media/h.jpg"}, "attachments": [{"url": "http://127.0.0.1:18101/media/x.jpg"}]})),
            (2, "<p>no media</p>", "{}")]
    connection.executemany("INSERT INTO gallery_article VALUES (?, ?, ?)", rows)
    connection.commit()
    return connection


WANTED_BODY = f'<img src="{BASE}a.png"><a href="{BASE}b%20c.pdf">b</a> it\'s'
WANTED_DATA = {"hero": {"url": f"{BASE}h.jpg"}, "attachments": [{"url": f"{BASE}x.jpg"}]}


def test_the_peers_update_rewrites_every_form_once_and_leaves_other_rows(tmp_path):
    connection = _table(tmp_path / "site.sqlite3")
    update = next(line for line in peer_sql(FORMS).splitlines() if line.startswith("UPDATE "))
    assert connection.execute(update).rowcount == 1
    body, data = connection.execute("SELECT body, data FROM gallery_article WHERE id = 1").fetchone()
    assert body == WANTED_BODY and json.loads(data) == WANTED_DATA
    assert connection.execute("SELECT body FROM gallery_article WHERE id = 2").fetchone() == ("<p>no media</p>",)


def test_a_quote_in_a_form_is_quoted_not_run(tmp_path):
    connection = _table(tmp_path / "site.sqlite3")
    odd = PeerForms.of("/media/", ["http://x'); DROP TABLE gallery_article; --"], "http://s3/b'c", "media")
    update = next(line for line in peer_sql(odd).splitlines() if line.startswith("UPDATE "))
    connection.execute(update)
    assert connection.execute("SELECT body FROM gallery_article WHERE id = 1").fetchone()[0].startswith(
        "<img src=\"http://s3/b'c/media/a.png\">")


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 command")
def test_the_script_runs_in_sqlite3_and_says_its_time_and_count(tmp_path):
    _table(tmp_path / "site.sqlite3").close()
    done = subprocess.run(["sqlite3", str(tmp_path / "site.sqlite3")], input=peer_sql(FORMS), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seconds, changed = parse_peer(done.stdout)
    assert changed == 1 and seconds >= 0
    with sqlite3.connect(tmp_path / "site.sqlite3") as connection:
        assert connection.execute("SELECT body FROM gallery_article WHERE id = 1").fetchone() == (WANTED_BODY,)


def test_the_peers_output_is_read_or_refused():
    assert parse_peer("Run Time: real 1.234 user 1.0 sys 0.2\nchanged 100000\n") == (1.234, 100000)
    with pytest.raises(RuntimeError):
        parse_peer("Error: database is locked\n")


def _line(**fields):
    return json.dumps({"time": 1.0, "run_id": "r", "env": "sandbox", "kind": "rewrite-urls", **fields})


def test_the_steps_seconds_and_the_rows_rewritten_come_from_the_journal():
    journal = [_line(event="start"), _line(event="step", step="plan the rewrite", result="started"),
               _line(event="step", step="plan the rewrite", result="ok", seconds=7.5),
               _line(event="counts", step="content rewrite", action="rewrite", rows=200000, skipped=0, record="x"),
               _line(event="step", step="rewrite old media URLs to the storage's", result="ok", seconds=12.25)]
    assert step_seconds(journal) == {"plan the rewrite": 7.5, "rewrite old media URLs to the storage's": 12.25}
    assert counted(journal) == 200000
    assert counted(journal[:2]) == -1


RESULT = {"command": "invoke bench --content-urls", "rows": 100000, "runs": 3, "urls": 500000,
          "find_seconds": [6.0, 5.0, 7.0], "find_step_seconds": [4.0, 4.5, None], "find_peak_mb": [60.0, 61.0, 59.0],
          "rewrite_seconds": [40.0, 44.0, 42.0], "rewrite_step_seconds": [20.0, 22.0, 21.0],
          "plan_step_seconds": [9.0, 9.0, 9.0], "rewrite_peak_mb": [300.0, 310.0, 305.0],
          "peer_seconds": [2.0, 2.0, 2.0], "peer_sqlite_seconds": [1.5, 1.6, 1.7], "reset_seconds": [11.0, 12.0],
          "rewritten": 200000, "peer_changed": 100000, "minutes": 6.4, "ended": "2026-12-07 04:00 UTC"}


def test_the_report_gives_medians_the_ratios_to_the_targets_and_to_the_peer():
    text = "\n".join(render(RESULT))
    assert text.startswith(HEADLINE + "\n")
    assert "| `invoke content-urls` (the find, whole) | 6.0 | 61 MB | NOT MET (1.20x) | 3.0x |" in text
    assert "| its find step | 4.2 | | MET (0.85x the target) | 2.1x |" in text     # the unrecorded step left out
    assert "| `invoke rewrite-urls` (whole: 200,000 values) | 42.0 | 310 MB | NOT MET (1.40x) | 21.0x |" in text
    assert "| its rewrite step | 21.0 | | MET (0.70x the target) | 10.5x |" in text
    assert "(the peer: 100,000 rows; sqlite3's own timer 1.60 s) | 2.00 | | | 1.00x |" in text
    assert "find 7.0 s (step -)" in text
    assert "not yet run" not in text.lower()


def test_before_a_run_the_section_is_placeholders_marked_not_yet_run():
    text = "\n".join(render(None))
    assert "**Not yet run**" in text and text.count("not yet run") >= 10
    assert "invoke bench --content-urls" in text


def test_the_section_replaces_its_own_and_leaves_the_rest():
    page = "# Benchmark results\n\n## Reclaim\n\nA\n\n## Content URLs\n\nold\n\n## Later\n\nB\n"
    assert with_section(page, ["## Content URLs", "", "new"]) == (
        "# Benchmark results\n\n## Reclaim\n\nA\n\n## Content URLs\n\nnew\n\n## Later\n\nB\n")
    assert with_section("# R\n\n## Reclaim\n\nA\n", ["## Content URLs", "", "new"]) == \
        "# R\n\n## Reclaim\n\nA\n\n## Content URLs\n\nnew\n"
    last = "# R\n\n## Content URLs\n\nold\n"
    assert with_section(last, ["## Content URLs", "", "new"]) == "# R\n\n## Content URLs\n\nnew\n"
