"""Unit tests for deploy.site.edits.settings_file: finding, flipping and refusing USE_S3 edits."""

import pytest

from deploy.errors import PreflightError, SettingsFileError
from deploy.site.edits.settings_file import backup_name, find_use_s3, set_use_s3, settings_diff

PATH = "web1:/srv/site/local_settings.py"

REALISTIC = '''\
# -*- coding: utf-8 -*-
"""Local settings for the production site — edited by hand, keep tidy."""
from .settings import *  # noqa: F401,F403

import os

DEBUG = False
ALLOWED_HOSTS = ["www.example.org", "example.org"]
SITE_NAME = "Grüße aus Köln ☕"

# Media storage. The cutover flips this line.
USE_S3 = False   # set by media-cutover; don't compute it	\x20
AWS_STORAGE_BUCKET_NAME = "example-media"

if USE_S3:
    DEFAULT_FILE_STORAGE = "storages.backends.s3boto3.S3Boto3Storage"
else:
    MEDIA_ROOT = "/srv/site/media"

def _helper(use_s3=False):
    local = use_s3
    return local
'''


def refusal(source, path=PATH):
    with pytest.raises(SettingsFileError) as caught:
        find_use_s3(source, path)
    message = str(caught.value)
    assert path in message
    return message


# --- finding ---------------------------------------------------------------

def test_finds_the_literal_and_its_exact_span():
    found = find_use_s3(REALISTIC, PATH)
    assert found.value is False
    assert found.line == 12
    assert REALISTIC[found.start:found.end] == "False"
    assert REALISTIC.splitlines()[11].startswith("USE_S3 = False")


def test_finds_true():
    source = "X = 1\nUSE_S3 = True\n"
    found = find_use_s3(source, PATH)
    assert (found.value, found.line, source[found.start:found.end]) == (True, 2, "True")


def test_annotated_assignment_is_accepted():
    source = "USE_S3: bool = True\n"
    found = find_use_s3(source, PATH)
    assert found.value is True
    assert source[found.start:found.end] == "True"


def test_bare_annotation_is_not_an_assignment():
    source = "USE_S3: bool\nUSE_S3 = False\n"
    found = find_use_s3(source, PATH)
    assert (found.value, found.line) == (False, 2)


def test_reads_of_use_s3_are_fine():
    source = "USE_S3 = True\nif USE_S3:\n    X = USE_S3\nY = [USE_S3 for _ in ()]\n"
    assert find_use_s3(source, PATH).line == 1


def test_parenthesised_literal_keeps_its_parentheses():
    source = "USE_S3 = (\n    False\n)\n"
    assert set_use_s3(source, PATH, True) == "USE_S3 = (\n    True\n)\n"


def test_star_import_before_the_assignment_is_fine():
    source = "from .base import *\nUSE_S3 = False\n"
    assert find_use_s3(source, PATH).line == 2


def test_settings_error_is_a_preflight_error():
    assert issubclass(SettingsFileError, PreflightError)


# --- refusals --------------------------------------------------------------

def test_syntax_error_names_path_and_line():
    message = refusal("X = 1\nY = (\nUSE_S3 = True\n")
    assert "cannot parse" in message
    assert "line 2" in message


def test_null_byte_is_refused_not_crashed():
    assert "cannot parse" in refusal("USE_S3 = True\x00\n")


def test_no_assignment():
    message = refusal("DEBUG = False\n")
    assert "expected exactly one top-level `USE_S3 = True|False` assignment" in message
    assert "add `USE_S3 = False` near the top" in message


def test_two_assignments_list_their_lines():
    message = refusal("USE_S3 = False\nX = 1\nUSE_S3 = True\n")
    assert "found 2 at lines 1, 3" in message


def test_three_assignments_list_their_lines():
    message = refusal("USE_S3 = False\nUSE_S3 = False\n\nUSE_S3 = True\n")
    assert "found 3 at lines 1, 2, 4" in message


@pytest.mark.parametrize("value", [
    "os.environ.get('USE_S3') == '1'",
    "bool(os.environ.get('USE_S3'))",
    "not DEBUG",
    "True if DEBUG else False",
])
def test_computed_value_is_refused(value):
    message = refusal(f"import os\nDEBUG = False\nUSE_S3 = {value}\n")
    assert "USE_S3 is computed" in message
    assert "at line 3" in message
    assert "make it a plain True/False literal so the cutover can flip it" in message


@pytest.mark.parametrize("value", ["1", "0", "'True'", "None"])
def test_non_bool_literal_is_refused(value):
    message = refusal(f"USE_S3 = {value}\n")
    assert f"set to `{value}` at line 1" in message
    assert "plain True/False literal" in message


@pytest.mark.parametrize("source, line, kind", [
    ("USE_S3 = False\nUSE_S3 |= True\n", 2, "augmented assignment"),
    ("USE_S3, X = False, 1\n", 1, "tuple unpacking"),
    ("USE_S3 = False\n[A, *USE_S3] = 1, 2\n", 2, "tuple unpacking"),
    ("USE_S3 = False\nfor USE_S3 in (True,):\n    pass\n", 2, "`for` target"),
    ("USE_S3 = False\nimport settings_s3 as USE_S3\n", 2, "import"),
    ("USE_S3 = False\nfrom x import y as USE_S3\n", 2, "import"),
    ("USE_S3 = False\nimport USE_S3\n", 2, "import"),
    ("USE_S3 = False\ndef f():\n    global USE_S3\n    USE_S3 = True\n", 3, "`global USE_S3`"),
    ("USE_S3 = False\n(USE_S3 := True)\n", 2, "walrus `:=`"),
    ("USE_S3 = False\nX = [(USE_S3 := y) for y in (1,)]\n", 2, "walrus `:=`"),
    ("A = USE_S3 = False\n", 1, "chained assignment"),
    ("USE_S3 = False\ndel USE_S3\n", 2, "`del`"),
    ("USE_S3 = False\nwith open('x') as USE_S3:\n    pass\n", 2, "`with ... as`"),
    ("USE_S3 = False\ntry:\n    pass\nexcept E as USE_S3:\n    pass\n", 4, "`except ... as USE_S3`"),
    ("USE_S3 = False\ndef USE_S3():\n    pass\n", 2, "def/class named USE_S3"),
    ("USE_S3 = False\nmatch X:\n    case USE_S3:\n        pass\n", 3, "`match` capture"),
])
def test_other_rebinding_is_refused(source, line, kind):
    message = refusal(source)
    assert "rebound in a way the cutover cannot flip safely" in message
    assert f"line {line} ({kind}" in message


def test_assignment_inside_if_block_is_refused_even_when_it_is_the_only_one():
    source = "import os\nif os.environ.get('S3'):\n    USE_S3 = True\nelse:\n    USE_S3 = False\n"
    message = refusal(source)
    assert "line 3 (assignment inside the `if` block starting at line 2)" in message
    assert "line 5 (assignment inside the `if` block starting at line 2)" in message


def test_assignment_inside_try_block_is_refused_alongside_a_plain_one():
    source = "USE_S3 = False\ntry:\n    import storages\n    USE_S3 = True\nexcept ImportError:\n    pass\n"
    message = refusal(source)
    assert "line 4 (assignment inside the `try` block starting at line 2)" in message


def test_star_import_after_the_assignment_is_refused():
    message = refusal("USE_S3 = False\nfrom .base import *\n")
    assert "`from .base import *` at line 2 comes after USE_S3 at line 1" in message


# --- flipping --------------------------------------------------------------

def test_flip_changes_only_the_literal():
    new = set_use_s3(REALISTIC, PATH, True)
    assert new == REALISTIC.replace("USE_S3 = False", "USE_S3 = True", 1)
    assert find_use_s3(new, PATH).value is True
    assert set_use_s3(new, PATH, False) == REALISTIC


def test_flip_keeps_crlf_trailing_whitespace_and_comment_byte_for_byte():
    crlf = REALISTIC.replace("\n", "\r\n")
    new = set_use_s3(crlf, PATH, True)
    assert "\r\nUSE_S3 = True   # set by media-cutover; don't compute it\t \r\n" in new
    assert new.encode("utf-8") == crlf.encode("utf-8").replace(b"USE_S3 = False", b"USE_S3 = True", 1)
    assert set_use_s3(new, PATH, False).encode("utf-8") == crlf.encode("utf-8")


def test_flip_with_old_mac_line_endings():
    source = "A = 1\rUSE_S3 = False\rB = 2\r"
    assert set_use_s3(source, PATH, True) == "A = 1\rUSE_S3 = True\rB = 2\r"


def test_flip_when_non_ascii_text_precedes_the_literal_on_the_same_line():
    source = 'X = 1\nNAME = "Grüße ☕ 𝄞"; USE_S3 = False  # é\nY = 2\n'
    assert set_use_s3(source, PATH, True) == 'X = 1\nNAME = "Grüße ☕ 𝄞"; USE_S3 = True  # é\nY = 2\n'


def test_flip_after_a_multiline_string_holding_unicode_line_separators():
    # \u2028 and \x85 are not line breaks for Python's tokenizer.
    source = 'X = """a\u2028b\x85c"""; USE_S3 = False\n'
    assert set_use_s3(source, PATH, True) == 'X = """a\u2028b\x85c"""; USE_S3 = True\n'


def test_flip_keeps_a_utf8_bom():
    source = "\ufeff# coding: utf-8\nUSE_S3 = False\n"
    assert set_use_s3(source, PATH, True) == "\ufeff# coding: utf-8\nUSE_S3 = True\n"


def test_flip_annotated_assignment():
    assert set_use_s3("USE_S3: bool = False\n", PATH, True) == "USE_S3: bool = True\n"


def test_flip_without_trailing_newline():
    assert set_use_s3("USE_S3 = True", PATH, False) == "USE_S3 = False"


def test_setting_the_current_value_returns_the_source_unchanged():
    assert set_use_s3(REALISTIC, PATH, False) is REALISTIC


def test_flip_is_idempotent():
    once = set_use_s3(REALISTIC, PATH, True)
    assert set_use_s3(once, PATH, True) == once


def test_flip_refuses_what_find_refuses():
    with pytest.raises(SettingsFileError, match="found 2 at lines 1, 2"):
        set_use_s3("USE_S3 = False\nUSE_S3 = False\n", PATH, True)


# --- diff and backup name --------------------------------------------------

def test_diff_shows_the_one_changed_line_with_git_style_headers():
    new = set_use_s3(REALISTIC, "/srv/site/local_settings.py", True)
    diff = settings_diff(REALISTIC, new, "/srv/site/local_settings.py")
    lines = diff.splitlines()
    assert lines[0] == "--- a/srv/site/local_settings.py"
    assert lines[1] == "+++ b/srv/site/local_settings.py"
    assert [line for line in lines if line[:1] in "+-" and line[:3] not in ("---", "+++")] == [
        "-USE_S3 = False   # set by media-cutover; don't compute it\t ",
        "+USE_S3 = True   # set by media-cutover; don't compute it\t ",
    ]


def test_diff_has_one_hunk_with_three_lines_of_context():
    diff = settings_diff(REALISTIC, set_use_s3(REALISTIC, PATH, True), PATH)
    assert [line for line in diff.splitlines() if line.startswith("@@")] == ["@@ -9,7 +9,7 @@"]


def test_diff_keeps_crlf_in_the_changed_lines():
    crlf = REALISTIC.replace("\n", "\r\n")
    diff = settings_diff(crlf, set_use_s3(crlf, PATH, True), PATH)
    assert "+USE_S3 = True   # set by media-cutover; don't compute it\t \r\n" in diff


def test_diff_of_identical_text_is_empty():
    assert settings_diff(REALISTIC, REALISTIC, PATH) == ""


def test_diff_marks_a_missing_final_newline():
    diff = settings_diff("A = 1\nUSE_S3 = False", "A = 1\nUSE_S3 = True", "x.py")
    assert "-USE_S3 = False\n\\ No newline at end of file\n+USE_S3 = True\n" in diff
    assert diff.endswith("\\ No newline at end of file\n")


def test_backup_name_sits_beside_the_file():
    assert backup_name("/srv/site/local_settings.py", "20261124T045500Z") == \
        "/srv/site/local_settings.py.media-cutover-20261124T045500Z.bak"


@pytest.mark.parametrize("stamp", ["", "a/b", "x y", "../x"])
def test_backup_name_rejects_stamps_that_are_not_a_plain_token(stamp):
    with pytest.raises(ValueError):
        backup_name("/srv/local_settings.py", stamp)


def test_disk_settings_prefers_a_matching_backup_and_otherwise_edits_minimally():
    from deploy.site.edits.settings_file import disk_settings
    before = "A = 1\nUSE_S3 = False\n"
    after = "A = 1\nUSE_S3 = True\n"
    edited_since = "A = 2\nUSE_S3 = True\n"
    backups = [("x.media-cutover-20260101T000000Z-aaaaaa.bak", "A = 0\nUSE_S3 = False\n"),
               ("x.media-cutover-20260102T000000Z-bbbbbb.bak", before)]
    assert disk_settings(after, "x", backups) == (before, "restored from its backup "
                                                  "x.media-cutover-20260102T000000Z-bbbbbb.bak")
    new, how = disk_settings(edited_since, "x", backups)
    assert new == "A = 2\nUSE_S3 = False\n" and how.startswith("set USE_S3 = False")
    assert disk_settings(before, "x", backups) == (before, "restored from its backup "
                                                   "x.media-cutover-20260102T000000Z-bbbbbb.bak")
    assert disk_settings(before, "x", []) == (before, "already USE_S3 = False")


# --- another switch name (SWITCH_NAME) ---------------------------------------

OTHER = "from .base import *\n\nUSE_S3 = True  # the site's own, not the switch\nMEDIA_ON_S3 = False\n"


def test_another_name_is_found_and_flipped_and_use_s3_is_left_alone():
    found = find_use_s3(OTHER, PATH, "MEDIA_ON_S3")
    assert (found.value, found.line, OTHER[found.start:found.end]) == (False, 4, "False")
    assert set_use_s3(OTHER, PATH, True, "MEDIA_ON_S3") == OTHER.replace("MEDIA_ON_S3 = False", "MEDIA_ON_S3 = True")


@pytest.mark.parametrize("source, message", [
    ("X = 1\n", "expected exactly one top-level `MEDIA_ON_S3 = True|False` assignment, found none; "
                "add `MEDIA_ON_S3 = False` near the top"),
    ("MEDIA_ON_S3 = False\nMEDIA_ON_S3 = True\n", "`MEDIA_ON_S3 = True|False` assignment, found 2 at lines 1, 2"),
    ("MEDIA_ON_S3 = bool(1)\n", "MEDIA_ON_S3 is computed `bool(1)` at line 1"),
    ("MEDIA_ON_S3 = False\nfrom .local import *\n", "comes after MEDIA_ON_S3 at line 1 and may rebind it; "
                                                    "move the MEDIA_ON_S3 assignment below it"),
    ("MEDIA_ON_S3 = False\ndef f():\n    global MEDIA_ON_S3\n", "line 3 (`global MEDIA_ON_S3`"),
    ("MEDIA_ON_S3 = False\nimport MEDIA_ON_S3\n", "MEDIA_ON_S3 is rebound in a way the cutover cannot flip safely"),
])
def test_another_name_is_refused_by_the_same_rules_with_its_name_in_the_message(source, message):
    with pytest.raises(SettingsFileError) as caught:
        find_use_s3(source, PATH, "MEDIA_ON_S3")
    assert message in str(caught.value) and "USE_S3 " not in str(caught.value).replace("MEDIA_ON_S3", "")


def test_a_name_that_is_no_python_name_is_a_bug_not_a_settings_problem():
    with pytest.raises(ValueError):
        find_use_s3("X = 1\n", PATH, "USE-S3")


def test_disk_settings_with_another_name():
    from deploy.site.edits.settings_file import disk_settings
    on = OTHER.replace("MEDIA_ON_S3 = False", "MEDIA_ON_S3 = True")
    assert disk_settings(on, "x", [("x.media-cutover-1.bak", OTHER)], "MEDIA_ON_S3") == (
        OTHER, "restored from its backup x.media-cutover-1.bak")
    assert disk_settings(on, "x", [], "MEDIA_ON_S3") == (
        OTHER, "set MEDIA_ON_S3 = False (no backup matches the current file)")
    assert disk_settings(OTHER, "x", [], "MEDIA_ON_S3") == (OTHER, "already MEDIA_ON_S3 = False")


def test_a_diff_without_context_shows_only_the_changed_line():
    diff = settings_diff(REALISTIC, set_use_s3(REALISTIC, PATH, True), PATH, context=0)
    assert [line for line in diff.splitlines() if line[:1] in "+-@"][2:] == [
        "@@ -12 +12 @@",
        "-USE_S3 = False   # set by media-cutover; don't compute it\t ",
        "+USE_S3 = True   # set by media-cutover; don't compute it\t "]
