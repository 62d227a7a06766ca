"""The switch in an env file: found, flipped in the file's own spelling, refused when ambiguous."""

import pytest

from deploy.errors import SettingsFileError
from deploy.site.edits.env_file import find_env_switch, set_env_switch

PATH = "web1:~/site/.env"


@pytest.mark.parametrize("line, flipped", [
    ("USE_S3=false\n", "USE_S3=true\n"),
    ("USE_S3=False\n", "USE_S3=True\n"),
    ("USE_S3=FALSE\n", "USE_S3=TRUE\n"),
    ("USE_S3=0\n", "USE_S3=1\n"),
    ("USE_S3=no\n", "USE_S3=yes\n"),
    ("USE_S3=off\n", "USE_S3=on\n"),
    ("USE_S3=Off\n", "USE_S3=On\n"),
    ('USE_S3="false"\n', 'USE_S3="true"\n'),
    ("USE_S3='no'\n", "USE_S3='yes'\n"),
    ("export USE_S3=false\n", "export USE_S3=true\n"),
    ("USE_S3 = false  # flipped by media-cutover\n", "USE_S3 = true  # flipped by media-cutover\n"),
    ("USE_S3=false\r\n", "USE_S3=true\r\n"),
    ("USE_S3=false", "USE_S3=true"),
])
def test_only_the_value_changes_in_the_files_own_spelling(line, flipped):
    source = f"# site settings\nDEBUG=off\n\n{line}"
    assert set_env_switch(source, PATH, "USE_S3", True) == f"# site settings\nDEBUG=off\n\n{flipped}"
    assert set_env_switch(set_env_switch(source, PATH, "USE_S3", True), PATH, "USE_S3", False) == source


def test_the_switch_is_read_with_its_line_and_the_rest_of_the_file_is_byte_identical():
    source = "\ufeffDJANGO_SECRET_KEY=x#y\nUSE_S3=true\nUSE_S3_OTHER=false\nMEDIA_USE_S3=0\n"
    found = find_env_switch(source, PATH, "USE_S3")
    assert (found.value, found.line, source[found.start:found.end]) == (True, 2, "true")
    assert set_env_switch(source, PATH, "USE_S3", False) == source.replace("USE_S3=true", "USE_S3=false")
    assert set_env_switch(source, PATH, "USE_S3", True) is source


def test_another_switch_name():
    source = "MEDIA_ON_S3=no\nUSE_S3=false\n"
    assert set_env_switch(source, PATH, "MEDIA_ON_S3", True) == "MEDIA_ON_S3=yes\nUSE_S3=false\n"


@pytest.mark.parametrize("source, message", [
    ("USE_S3=false\nUSE_S3=true\n", r"found 2 at lines 1, 2"),
    ("# USE_S3=true\n", r"found none \(only a commented one, at line 1: uncomment it\)"),
    ("DEBUG=1\n", r"found none; add `USE_S3=false`"),
    ("USE_S3=${X}\n", r"USE_S3 at line 1 is `\$\{X\}`, which the cutover cannot read as a boolean"),
    ("USE_S3=\n", r"is ``, which the cutover cannot read"),
    ("USE_S3=maybe\n", r"is `maybe`"),
    ('USE_S3="true\n', r'is `"true`'),
    ("USE_S3=true#x\n", r"is `true#x`"),
    ("USE_S3=true false\n", r"is `true false`"),
])
def test_ambiguous_or_unreadable_switches_are_refused_naming_the_file(source, message):
    with pytest.raises(SettingsFileError, match=f"^{PATH}: .*{message}"):
        find_env_switch(source, PATH, "USE_S3")
