"""The keys of how media URLs are served: signed (PUBLIC_MEDIA=false, AWS_QUERYSTRING_EXPIRE) or through a
custom domain (MEDIA_CUSTOM_DOMAIN, or django-storages' AWS_S3_CUSTOM_DOMAIN), and Settings.media_base_url."""

import pytest

from deploy.errors import ConfigError

from .test_config import edit, load, project  # noqa: F401  (the fixture)


def refusal(project) -> str:
    with pytest.raises(ConfigError) as error:
        load(project)
    return str(error.value)


def test_by_default_urls_are_the_buckets_unsigned_and_a_signed_one_would_last_an_hour(project):
    settings = load(project)
    assert (settings.public_media, settings.custom_domain, settings.querystring_expire) == (True, None, 3600)
    assert settings.media_base_url == "https://my-media.s3.us-east-1.amazonaws.com/media/"


def test_the_signed_urls_life_is_read(project):
    edit(project, add="PUBLIC_MEDIA=false\nAWS_QUERYSTRING_EXPIRE=600\n")
    settings = load(project)
    assert (settings.public_media, settings.querystring_expire) == (False, 600)


@pytest.mark.parametrize("value", ["soon", "0", "-5", "1.5"])
def test_a_signed_urls_life_that_is_no_positive_whole_number_is_refused(project, value):
    edit(project, add=f"AWS_QUERYSTRING_EXPIRE={value}\n")
    message = refusal(project)
    assert f"AWS_QUERYSTRING_EXPIRE is {value!r}; expected a positive int" in message


@pytest.mark.parametrize("value, domain, scheme", [
    ("cdn.example.com", "cdn.example.com", "https"),
    ("CDN.Example.com", "cdn.example.com", "https"),
    ("https://cdn.example.com/", "cdn.example.com", "https"),
    ("http://127.0.0.1:18190", "127.0.0.1:18190", "http"),
])
def test_a_custom_domain_is_a_host_with_its_scheme(project, value, domain, scheme):
    edit(project, add=f"AWS_LOCATION=uploads/media\nMEDIA_CUSTOM_DOMAIN={value}\n")
    settings = load(project)
    assert (settings.custom_domain, settings.custom_domain_scheme) == (domain, scheme)
    assert settings.media_base_url == f"{scheme}://{domain}/uploads/media/"


@pytest.mark.parametrize("value", ["cdn.example.com/media", "https://cdn.example.com/?v=1", "ftp://cdn.example.com",
                                   "https://user@cdn.example.com", "cdn example.com"])
def test_a_custom_domain_with_a_path_query_or_other_scheme_is_refused_naming_the_key(project, value):
    edit(project, add=f"MEDIA_CUSTOM_DOMAIN={value}\n")
    message = refusal(project)
    assert f"MEDIA_CUSTOM_DOMAIN is {value!r}; expected the host name media are served from" in message
    assert "(no path)" in message


def test_django_storages_own_name_is_read_too(project):
    edit(project, add="AWS_S3_CUSTOM_DOMAIN=cdn.example.com\n")
    assert load(project).custom_domain == "cdn.example.com"
    edit(project, add="MEDIA_CUSTOM_DOMAIN=cdn.example.com\n")   # both, the same: fine
    assert load(project).custom_domain == "cdn.example.com"


def test_both_names_set_differently_are_refused(project):
    edit(project, add="MEDIA_CUSTOM_DOMAIN=cdn.example.com\nAWS_S3_CUSTOM_DOMAIN=media.example.com\n")
    message = refusal(project)
    assert ("AWS_S3_CUSTOM_DOMAIN is 'media.example.com' but MEDIA_CUSTOM_DOMAIN is 'cdn.example.com'; "
            "set one of them") in message


@pytest.mark.parametrize("key", ["MEDIA_CUSTOM_DOMAIN", "AWS_S3_CUSTOM_DOMAIN"])
def test_a_custom_domain_for_private_media_is_refused_it_cannot_sign(project, key):
    edit(project, add=f"PUBLIC_MEDIA=false\n{key}=cdn.example.com\n")
    message = refusal(project)
    assert f"{key} is 'cdn.example.com' while PUBLIC_MEDIA=false: a custom domain cannot sign URLs" in message
    assert "django-storages#165" in message and "\n" not in message


def test_media_base_url_on_a_compatible_store_is_the_endpoints_path(project):
    edit(project, add="AWS_S3_ENDPOINT_URL=http://127.0.0.1:18333\n")
    assert load(project).media_base_url == "http://127.0.0.1:18333/my-media/media/"



def test_private_media_refuse_a_cache_control_that_lets_shared_caches_keep_them_where_it_is_used(project):
    from deploy.site.edits import snippet
    edit(project, add="PUBLIC_MEDIA=false\nCACHE_CONTROL=max-age=86400, public\n")
    settings = load(project)   # read all the same: a rollback must never be held up by it
    assert "CACHE_CONTROL is 'max-age=86400, public' while PUBLIC_MEDIA=false" in settings.private_cache_problem
    assert "CACHE_CONTROL=private, max-age=3600" in settings.private_cache_problem
    with pytest.raises(ConfigError, match="keep private media"):
        snippet.settings_block(settings)
    edit(project, add="CACHE_CONTROL=private, max-age=600\n")
    assert load(project).private_cache_problem is None
    edit(project, drop="PUBLIC_MEDIA", add="CACHE_CONTROL=max-age=86400, public\n")
    assert load(project).private_cache_problem is None     # public media: public caching is the point
