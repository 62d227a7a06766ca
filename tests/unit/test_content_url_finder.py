"""The old media URLs in a text (deploy/site/programs/content_url_finder.py), run here: it needs only the stdlib.

What the site's content holds: rich text's HTML (src, href, each URL of a srcset), markdown, CSS url(),
JSON strings, prose; relative URLs and absolute ones on the site's hosts, and the same path on other
hosts, which are not the site's.  With a real Django and database: test_content_urls_django.py.
"""

import re
import runpy
from urllib.parse import unquote

import pytest

from deploy.site.edits import content_urls as rewrite
from deploy.site.facts.content_urls import url_forms
from deploy.site.site_python import PROGRAMS

FINDER = runpy.run_path(str(PROGRAMS / "content_url_finder.py"))
Forms, strings, value_hash = FINDER["Forms"], FINDER["strings"], FINDER["value_hash"]
HOSTS = ["www.example.com", "old.example.net:8000"]


def found(text, media_url="/media/", hosts=HOSTS):
    return [(item.raw, item.name, item.ours) for item in Forms(media_url, hosts).occurrences(text)]


@pytest.mark.parametrize("text, expected", [
    ('<img src="/media/uploads/a.png">', [("/media/uploads/a.png", "uploads/a.png", True)]),
    ("<img src='/media/a.png' alt=x>", [("/media/a.png", "a.png", True)]),
    ('<a href="https://WWW.Example.com/media/doc.pdf">', [("https://WWW.Example.com/media/doc.pdf", "doc.pdf", True)]),
    ('<img src="//www.example.com/media/a.png">', [("//www.example.com/media/a.png", "a.png", True)]),
    ('<img src="http://old.example.net:8000/media/a.png">', [("http://old.example.net:8000/media/a.png", "a.png", True)]),
    # srcset: each URL, the descriptors left out
    ('<img srcset="/media/a.png 1x, /media/b%20c.png 2x">',
     [("/media/a.png", "a.png", True), ("/media/b%20c.png", "b c.png", True)]),
    ("![photo](/media/md/photo%20(1).jpg) and [pdf](/media/x.pdf)",
     [("/media/md/photo%20(1).jpg", "md/photo (1).jpg", True), ("/media/x.pdf", "x.pdf", True)]),
    ("background: url(/media/css/bg.png);", [("/media/css/bg.png", "css/bg.png", True)]),
    ('{"hero": "/media/h.jpg", "list": ["/media/l.jpg"]}', [("/media/h.jpg", "h.jpg", True), ("/media/l.jpg", "l.jpg", True)]),
    ('<div data-x="{&quot;src&quot;:&quot;/media/j.png&quot;}">', [("/media/j.png", "j.png", True)]),
    ("See /media/report.pdf. Or /media/a.png, /media/b.png!", [("/media/report.pdf", "report.pdf", True),
                                                             ("/media/a.png", "a.png", True), ("/media/b.png", "b.png", True)]),
    ('<img src="/media/%C3%A9t%C3%A9.png"> <a href="/media/a&amp;b.pdf">',
     [("/media/%C3%A9t%C3%A9.png", "été.png", True), ("/media/a&amp;b.pdf", "a&b.pdf", True)]),
    # ?query and #fragment are not the name's, and not part of what a rewrite replaces
    ('<img src="/media/a.png?v=2"><a href="/media/b.pdf#page=3">', [("/media/a.png", "a.png", True),
                                                                   ("/media/b.pdf", "b.pdf", True)]),
])
def test_each_place_content_stores_a_url_in(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "/blog/media/a.png",                       # the path inside a longer path
    "https://www.example.com/blog/media/a.png",
    "ftp://www.example.com/media/a.png",       # another scheme
    "mailto:x@www.example.com/media/a.png",
    "example.com/media/a.png",                 # a host without a scheme or //: prose, not a URL
    "/media/",                                  # no file
    "/mediafiles/a.png",
])
def test_what_is_not_an_old_media_url(text):
    assert [item for item in found(text) if item[2]] == []


def test_the_path_on_another_host_is_found_but_not_ours():
    assert found('<img src="https://cdn.other.com/media/a.png"> http://old.example.net/media/b.png') == [
        ("https://cdn.other.com/media/a.png", "a.png", False),
        ("http://old.example.net/media/b.png", "b.png", False)]   # old.example.net was named with its port


def test_a_name_that_leaves_media_root_is_no_name():
    assert found("/media/../etc/passwd /media/a/../../b") == [("/media/../etc/passwd", None, True),
                                                              ("/media/a/../../b", None, True)]


@pytest.mark.parametrize("media_url, text, expected", [
    ("/static/media/", '<img src="/static/media/uploads/a.png"> /media/b.png /static/x.css',
     [("/static/media/uploads/a.png", "uploads/a.png", True)]),
    ("/uploads/", '<a href="https://www.example.com/uploads/2024/a.pdf">', [
        ("https://www.example.com/uploads/2024/a.pdf", "2024/a.pdf", True)]),
    # An absolute MEDIA_URL: its host counts, a relative path is the site's own page
    ("https://media.example.com/", '<img src="https://media.example.com/a.png"> <a href="/about/x.html">',
     [("https://media.example.com/a.png", "a.png", True)]),
])
def test_media_urls_other_than_media(media_url, text, expected):
    assert found(text, media_url) == expected


def test_a_media_url_at_the_root_needs_a_host():
    with pytest.raises(ValueError, match="cannot be told from the site's own pages"):
        Forms("/", [])
    assert Forms("https://media.example.com/").database_terms() == [("//media.example.com/", True)]


def test_the_database_filter_is_the_path_when_relative_urls_count_else_each_host():
    assert Forms("/static/media/", HOSTS).database_terms() == [("/static/media/", False)]
    assert Forms("https://media.example.com/", ["old.example.net"]).database_terms() == [
        ("//media.example.com/", True), ("//old.example.net/", True)]


NEW = {"uploads/a.png": "https://bucket.s3.amazonaws.com/media/uploads/a.png",
       "b c.png": "https://bucket.s3.amazonaws.com/media/b%20c.png"}


def test_a_rewrite_replaces_the_old_urls_of_planned_names_and_nothing_else():
    forms = Forms("/media/", HOSTS)
    text = ('<img src="/media/uploads/a.png?v=2" srcset="//www.example.com/media/b%20c.png 2x"> '
            '<img src="https://cdn.other.com/media/uploads/a.png"> <img src="/media/unplanned.png">')
    assert forms.replaced(text, NEW) == (
        '<img src="https://bucket.s3.amazonaws.com/media/uploads/a.png?v=2" '
        'srcset="https://bucket.s3.amazonaws.com/media/b%20c.png 2x"> '
        '<img src="https://cdn.other.com/media/uploads/a.png"> <img src="/media/unplanned.png">')
    assert forms.replaced(forms.replaced(text, NEW), NEW) == forms.replaced(text, NEW)  # a second run: no change


def test_a_json_value_is_rewritten_in_its_strings_its_keys_and_other_types_kept():
    forms = Forms("/media/", HOSTS)
    value = {"/media/uploads/a.png": ["/media/uploads/a.png", 3, None, {"x": "see /media/b%20c.png."}], "n": 1.5}
    assert forms.replaced(value, NEW) == {"/media/uploads/a.png": [
        NEW["uploads/a.png"], 3, None, {"x": "see https://bucket.s3.amazonaws.com/media/b%20c.png."}], "n": 1.5}
    assert forms.replaced(value, {}) == value


def test_the_hash_is_of_the_value_not_of_its_spelling():
    assert value_hash({"a": 1, "b": [2]}) == value_hash({"b": [2], "a": 1})
    assert value_hash("x") != value_hash(["x"]) and len(value_hash("x")) == 64


@pytest.mark.parametrize("text, expected", [
    # Django's filepath_to_uri leaves ' as it is: inside a double-quoted attribute or JSON string it is the name's
    ('<img src="/media/legacy/photo\'s%20(1).png">', [("/media/legacy/photo's%20(1).png", "legacy/photo's (1).png", True)]),
    ('{"src": "https://www.example.com/media/o\'brien.jpg"}', [("https://www.example.com/media/o'brien.jpg",
                                                                "o'brien.jpg", True)]),
    ('<img src="/media/photo&#39;s.png" alt="x">', [("/media/photo&#39;s.png", "photo's.png", True)]),
    # ... not inside single quotes, nor in prose, nor after a double-quoted attribute ends
    ("<img src='/media/a.png'>", [("/media/a.png", "a.png", True)]),
    ("onclick=\"open('/media/a.pdf')\"", [("/media/a.pdf", "a.pdf", True)]),
    ("it is /media/a.png's name", [("/media/a.png", "a.png", True)]),
    ('<a href="/media/a.pdf">x</a> \'/media/b.png\'', [("/media/a.pdf", "a.pdf", True), ("/media/b.png", "b.png", True)]),
    ('<img src="/media/photo\'s.png?v=1#x"> "/media/c.png"', [("/media/photo's.png", "photo's.png", True),
                                                             ("/media/c.png", "c.png", True)]),
])
def test_an_apostrophe_inside_a_double_quoted_value_is_part_of_the_url(text, expected):
    assert found(text) == expected


def test_a_rewrite_replaces_a_url_with_an_apostrophe_whole():
    forms = Forms("/media/", HOSTS)
    text = '<p><img src="/media/legacy/photo\'s%20(1).png"> <img src="/media/legacy/photo\'s.png"></p>'
    urls = {"legacy/photo's (1).png": "https://bucket.s3.amazonaws.com/media/legacy/photo%27s%20%281%29.png",
            "legacy/photo's.png": "https://bucket.s3.amazonaws.com/media/legacy/photo%27s.png"}
    assert forms.replaced(text, urls) == (
        '<p><img src="https://bucket.s3.amazonaws.com/media/legacy/photo%27s%20%281%29.png"> '
        '<img src="https://bucket.s3.amazonaws.com/media/legacy/photo%27s.png"></p>')


def test_a_json_fields_string_is_quoted_its_apostrophe_the_names():
    """A JSONField's strings are JSON strings: a URL at the start of one is its whole value, as after a "."""
    forms = Forms("/media/", HOSTS)
    value = "https://www.example.com/media/o'brien.jpg"
    assert [(item.raw, item.name) for item in forms.occurrences(value, quoted=True)] == [(value, "o'brien.jpg")]
    assert [item.name for item in forms.occurrences(value)] == ["o"]   # a text's: the ' ends it (prose, '...')
    urls = {"o'brien.jpg": "https://bucket.s3.amazonaws.com/media/o%27brien.jpg"}
    assert forms.replaced({"hero": value, "list": [value + " 2x"]}, urls) == {
        "hero": urls["o'brien.jpg"], "list": [urls["o'brien.jpg"] + " 2x"]}
    assert forms.replaced(value, urls, quoted=True) == urls["o'brien.jpg"]   # a JSONField holding a bare string


# --- the plan's URLs (deploy/site/edits/content_urls.py): a quote or a space in the storage's URL %-encoded -----

BUCKET = "https://media-bucket.s3.example.test/media/"
STORAGE = {"legacy/photo's (1).png": BUCKET + "legacy/photo's%20(1).png",       # django-storages' URL
           "legacy/my photo.png": BUCKET + "legacy/my photo.png"}              # a storage that leaves the space
PLANNED = rewrite.plan_rewrite(STORAGE, set(STORAGE), STORAGE.get,
                               url_forms("/media/", ["https://www.example.com"], ["old.example.net:8000"]))


@pytest.mark.parametrize("before, after", [
    ('<img src="/media/legacy/photo\'s%20(1).png" alt="it\'s">',
     '<img src="' + BUCKET + 'legacy/photo%27s%20(1).png" alt="it\'s">'),
    ("<img src='https://www.example.com/media/legacy/photo%27s%20%281%29.png'>",
     "<img src='" + BUCKET + "legacy/photo%27s%20(1).png'>"),
    ("<a href='/media/legacy/my%20photo.png'>x</a> <a href=\"/media/legacy/my%20photo.png\">",
     "<a href='" + BUCKET + "legacy/my%20photo.png'>x</a> <a href=\"" + BUCKET + "legacy/my%20photo.png\">"),
    ('{"src": "/media/legacy/photo\'s%20(1).png", "alt": "it\'s"}',
     '{"src": "' + BUCKET + 'legacy/photo%27s%20(1).png", "alt": "it\'s"}'),
    ({"src": "/media/legacy/photo's%20(1).png", "srcset": ["/media/legacy/my%20photo.png 2x"]},
     {"src": BUCKET + "legacy/photo%27s%20(1).png", "srcset": [BUCKET + "legacy/my%20photo.png 2x"]}),
])
def test_the_planned_urls_rewrite_each_kind_of_value_and_a_second_run_changes_nothing(before, after):
    forms = Forms("/media/", HOSTS)
    assert PLANNED.urls == {"legacy/photo's (1).png": BUCKET + "legacy/photo%27s%20(1).png",
                            "legacy/my photo.png": BUCKET + "legacy/my%20photo.png"}
    counts = [0, 0]
    assert forms.replaced(before, PLANNED.urls, counts) == after
    assert counts[0] > 0 and counts[1] == 0
    # The bucket's URLs are not old media URLs: a find counts none, a second rewrite changes nothing.
    again = [0, 0]
    assert forms.replaced(after, PLANNED.urls, again) == after and again == [0, 0]
    assert not [item for text in strings(after) for item in forms.occurrences(text, not isinstance(after, str))
                if item.ours]
    # The written value holds no character that would end its quotes, nor one a browser would send otherwise.
    for text in strings(after):
        for url in re.findall(re.escape(BUCKET) + r"[^\s'\"<>]*", text):
            assert unquote(url.removeprefix(BUCKET)) in STORAGE


# The pattern as it was before the speed-up (the look-ahead at every character of the path, and re trying
# it at every character of the text): the reference the faster search must agree with, match for match.
_E = FINDER["_ENDING_ENTITY"]
_S = FINDER["_STOPS"]
_REFERENCE_CHAR = r"(?:(?!" + _E + r")[^?#" + _S + r"])"
_REFERENCE_PATH = r"(?:" + _REFERENCE_CHAR + r"|\(" + _REFERENCE_CHAR + r"*\))"
_REFERENCE_REST = r"(?:(?!" + _E + r")[^" + _S + r"])"
TOKENS = ("/media/", "/media", "media/", "//", "/", "http:", "https:", "HTTPS:", "www.example.com", "old.example.net",
          ":8000", "[::1]", "x", ".", "-", "@", "&quot;", "&amp;", "&#39;", "&", "(", ")", " ", '"', "?", "#", ",",
          "!", "%20", "a.png", "/x", "é", "https://", "//www.example.com", "http://old.example.net:8000", "HTTP://x",
          "https://media", "//media")


def reference_matches(forms, text):
    import re
    relative = r"|(?<![\w.:/@%~-])" if forms.relative else ""
    pattern = re.compile(r"(?:(?<![\w.+:/-])(?P<scheme>(?i:https?:))?//" + FINDER["_HOST"] + relative + r")"
                         + re.escape(forms.path) + r"(?P<path>" + _REFERENCE_PATH + r"+)(?P<rest>[?#]"
                         + _REFERENCE_REST + r"*)?")
    return [(match.span(), match.groupdict()) for match in pattern.finditer(text)]


@pytest.mark.parametrize("media_url, hosts", [("/media/", HOSTS + ["[::1]"]), ("https://media.example.com/", HOSTS),
                                              ("http://www.example.com/media/", [])])
def test_the_search_near_the_path_finds_what_the_pattern_finds_everywhere(media_url, hosts):
    import random
    forms, chosen = Forms(media_url, hosts), random.Random(25)
    for _ in range(20000):
        text = "".join(chosen.choice(TOKENS) for _ in range(chosen.randint(1, 14)))
        assert [(match.span(), match.groupdict()) for match in forms._matches(text)] == \
            reference_matches(forms, text), text


def test_a_path_is_decoded_once_and_the_cache_stays_bounded(monkeypatch):
    forms = Forms("/media/")
    monkeypatch.setitem(Forms.name.__globals__, "NAMES_CACHED", 2)
    assert [item.name for item in forms.occurrences("/media/a%20b.png /media/a%20b.png /media/c.png")] == \
        ["a b.png", "a b.png", "c.png"]
    assert forms.name("d.png") == "d.png" and len(forms._names) <= 2


def test_a_json_values_strings_come_in_order_and_an_unclosed_parenthesis_ends_the_path():
    assert strings({"a": "1", "b": [{"c": "2"}, 3, ["4", None]], "d": "5"}) == ["1", "2", "4", "5"]
    assert strings("x") == ["x"] and strings(7) == []
    assert found("/media/a(" + "b" * 20000 + " /media/c.png") == [("/media/a", "a", True), ("/media/c.png", "c.png", True)]
