"""The keys for real site shapes (settings module, switch format and name, check pages) and unknown keys."""

import pytest

from deploy.errors import ConfigError

from .test_config import edit, load, project  # noqa: F401  (the fixture)


def test_defaults_keep_todays_python_switch_and_manage_pys_module(project):
    settings = load(project)
    host = settings.host("web1")
    assert (host.switch_format, host.settings_module, host.media_check_paths) == ("python", None, ())
    assert settings.switch_name == "USE_S3"


def test_an_env_file_switch_is_found_by_its_name_or_said(project):
    edit(project, drop="SETTINGS_PATH=~/site/local_settings.py\n",
         add="SETTINGS_PATH=~/site/.env\nSETTINGS_PATH__WEB1=~/site/settings/local.py\nSWITCH_FORMAT__WEB1=env\n"
             "SWITCH_NAME=MEDIA_ON_S3\n")
    settings = load(project)
    assert settings.host("web1").switch_format == "env"                    # said, whatever the name
    assert settings.host("deploy@web2.example.com").switch_format == "env"  # auto: not a .py file
    assert settings.switch_name == "MEDIA_ON_S3"


def test_the_settings_module_and_check_pages_per_host(project):
    edit(project, add="DJANGO_SETTINGS_MODULE=shop.settings.production\nMEDIA_CHECK_PATHS=/gallery/, /blog/\n"
                      "MEDIA_CHECK_PATHS__WEB1=/\n")
    settings = load(project)
    assert settings.host("web1").settings_module == "shop.settings.production"
    assert settings.host("web1").media_check_paths == ("/",)
    assert settings.host("deploy@web2.example.com").media_check_paths == ("/gallery/", "/blog/")


def test_media_list_path_is_the_older_name_of_one_check_page(project):
    edit(project, add="MEDIA_LIST_PATH=/files/?limit=50\n")
    assert load(project).host("web1").media_check_paths == ("/files/?limit=50",)


@pytest.mark.parametrize("line, message", [
    ("SWITCH_FORMAT=yaml", "SWITCH_FORMAT is 'yaml'; expected one of auto, python, env"),
    ("SWITCH_NAME=use-s3", "SWITCH_NAME is 'use-s3'; expected a Python name"),
    ("DJANGO_SETTINGS_MODULE=shop/settings.py", "DJANGO_SETTINGS_MODULE is 'shop/settings.py'; expected a dotted"),
    ("MEDIA_CHECK_PATHS=gallery/", "MEDIA_CHECK_PATHS has 'gallery/'; expected paths starting with /"),
    ("HEALTH_ULR=http://x/healthz", "HEALTH_ULR is not a key media-cutover knows: did you mean HEALTH_URL?"),
    ("SYNC_WORKERS=8", "SYNC_WORKERS is not a key this version of media-cutover knows"),
    ("CHANGEOVER=both", "CHANGEOVER is 'both'; expected one of copy, mirror"),
    ("MIRROR_SWITCH_NAME=USE_S3", "MIRROR_SWITCH_NAME is 'USE_S3', the same as SWITCH_NAME"),
    ("MIRROR_SWICH_NAME=X", "MIRROR_SWICH_NAME is not a key media-cutover knows: did you mean MIRROR_SWITCH_NAME?"),
    ("AWS_STORAGE_BUCKET_NAME__WEB1=other",
     "AWS_STORAGE_BUCKET_NAME__WEB1 is a per-host override of AWS_STORAGE_BUCKET_NAME, which is the same"),
])
def test_mistakes_are_refused_naming_file_key_and_what_was_expected(project, line, message):
    edit(project, add=line + "\n")
    with pytest.raises(ConfigError) as raised:
        load(project)
    assert f"config/demo.env: {message}" in str(raised.value)


def test_keys_the_site_reads_itself_are_fine_and_the_environment_is_never_judged(project):
    edit(project, add="DJANGO_SECRET_KEY=x\nDATABASE_URL=sqlite:///db\nAWS_S3_CUSTOM_DOMAIN=cdn.example.com\n"
                      "AWS_QUERYSTRING_AUTH=False\n")
    load(project, {"HEALTH_ULR": "typo in the shell is none of our business", "PATH": "/usr/bin"})


def test_old_media_hosts_and_the_disk_media_url_are_optional_and_read_as_given(project):
    settings = load(project)
    assert (settings.old_media_hosts, settings.disk_media_url) == ((), None)
    edit(project, add="OLD_MEDIA_HOSTS=WWW.Example.com, old.example.net:8080,www.example.com,[::1]:8000\n"
                      "DISK_MEDIA_URL=/static/media/\n")
    settings = load(project)
    assert settings.old_media_hosts == ("www.example.com", "old.example.net:8080", "[::1]:8000")
    assert settings.disk_media_url == "/static/media/"
    edit(project, drop="DISK_MEDIA_URL", add="DISK_MEDIA_URL=https://media.example.com/\n")
    assert load(project).disk_media_url == "https://media.example.com/"


@pytest.mark.parametrize("line, message", [
    ("OLD_MEDIA_HOSTS=https://www.example.com", "OLD_MEDIA_HOSTS has 'https://www.example.com'; expected host names"),
    ("OLD_MEDIA_HOSTS=www.example.com/media", "OLD_MEDIA_HOSTS has 'www.example.com/media'; expected host names"),
    ("DISK_MEDIA_URL=/media", "DISK_MEDIA_URL is '/media'; expected a path such as /media/ or a URL"),
    ("DISK_MEDIA_URL=media/", "DISK_MEDIA_URL is 'media/'; expected a path such as /media/"),
    ("DISK_MEDIA_URL=//cdn.example.com/", "DISK_MEDIA_URL is '//cdn.example.com/'; expected"),
    ("DISK_MEDIA_URL=ftp://files.example.com/", "DISK_MEDIA_URL is 'ftp://files.example.com/'; expected"),
    ("OLD_MEDIA_HOST=www.example.com", "OLD_MEDIA_HOST is not a key media-cutover knows: did you mean OLD_MEDIA_HOSTS?"),
    ("DISK_MEDIA_PATH=/media/", "DISK_MEDIA_PATH is not a key this version of media-cutover knows"),
    ("OLD_MEDIA_HOSTS__WEB1=x.example.com", "OLD_MEDIA_HOSTS__WEB1 is a per-host override of OLD_MEDIA_HOSTS"),
])
def test_old_media_hosts_and_disk_media_url_mistakes_are_named(project, line, message):
    edit(project, add=line + "\n")
    with pytest.raises(ConfigError) as raised:
        load(project)
    assert f"config/demo.env: {message}" in str(raised.value)
