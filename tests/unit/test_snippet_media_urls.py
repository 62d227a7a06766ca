"""The printed block's media URLs: signed for private media (PUBLIC_MEDIA=false), through a custom domain (a CDN)
from the config or the command line; the copy's block and the mirror's alike."""

from dataclasses import replace

import pytest

from deploy.errors import ConfigError
from deploy.site.edits import snippet

from .test_snippet import aws, run_block, store  # noqa: F401  (the fixtures)

CHANGEOVERS = pytest.mark.parametrize("changeover", ["copy", "mirror"])


def options_and_url(settings, custom_domain=None) -> tuple[dict, str]:
    namespace = run_block(snippet.settings_block(settings, custom_domain), use_s3=True,
                          environ={"AWS_ACCESS_KEY_ID": "AKIASITE", "AWS_SECRET_ACCESS_KEY": "site-secret"})
    return namespace["STORAGES"]["default"]["OPTIONS"], namespace["MEDIA_URL"]


@CHANGEOVERS
def test_public_media_keep_plain_unsigned_urls(aws, changeover):
    options, url = options_and_url(replace(aws, changeover=changeover))
    assert options["querystring_auth"] is False and "querystring_expire" not in options
    assert "url_protocol" not in options
    assert url == "https://my-media.s3.eu-west-1.amazonaws.com/uploads/media/"


@CHANGEOVERS
def test_private_media_are_signed_by_the_sites_key_for_the_configured_time(aws, changeover):
    private = replace(aws, public_media=False, cache_control="private, max-age=600", querystring_expire=600,
                      changeover=changeover)
    options, url = options_and_url(private)
    assert (options["querystring_auth"], options["querystring_expire"]) == (True, 600)
    assert options["signature_version"] == "s3v4"   # never SigV2, which botocore may pick on an unknown endpoint
    # No custom domain, not even the bucket's own host: django-storages signs only without one.
    assert options["custom_domain"] is None
    assert (options["access_key"], options["secret_key"]) == ("AKIASITE", "site-secret")   # from the environment
    assert url == private.media_base_url == "https://my-media.s3.eu-west-1.amazonaws.com/uploads/media/"
    block = snippet.settings_block(private)
    assert "signed URLs: private media" in block and "a custom domain cannot sign (django-storages#165)" in block
    assert "site-secret" not in block


def test_private_media_on_a_compatible_store_are_signed_too(store):
    options, url = options_and_url(replace(store, public_media=False, cache_control="private, max-age=600"))
    assert (options["querystring_auth"], options["querystring_expire"]) == (True, 3600)
    assert options["custom_domain"] is None and url == "http://127.0.0.1:18333/my-media/uploads/media/"


@CHANGEOVERS
def test_the_configured_custom_domain_serves_media(store, changeover):
    options, url = options_and_url(replace(store, custom_domain="cdn.example.com", changeover=changeover))
    assert options["custom_domain"] == "cdn.example.com" and "url_protocol" not in options
    assert options["querystring_auth"] is False
    assert url == "https://cdn.example.com/uploads/media/"


@CHANGEOVERS
def test_a_plain_http_custom_domain_sets_the_url_protocol(store, changeover):
    cdn = replace(store, custom_domain="127.0.0.1:18190", custom_domain_scheme="http", changeover=changeover)
    options, url = options_and_url(cdn)
    assert (options["custom_domain"], options["url_protocol"]) == ("127.0.0.1:18190", "http:")
    assert url == cdn.media_base_url == "http://127.0.0.1:18190/uploads/media/"


def test_a_custom_domain_on_the_command_line_wins_over_the_configured_one(aws):
    configured = replace(aws, custom_domain="127.0.0.1:18190", custom_domain_scheme="http")
    options, url = options_and_url(configured, "cdn.example.com")
    assert options["custom_domain"] == "cdn.example.com" and "url_protocol" not in options
    assert url == snippet.media_url(configured, "cdn.example.com") == "https://cdn.example.com/uploads/media/"


@pytest.mark.parametrize("part", ["settings", "nginx"])
def test_a_custom_domain_on_the_command_line_for_private_media_is_refused(aws, part):
    with pytest.raises(ConfigError) as error:
        snippet.render(replace(aws, public_media=False, cache_control="private, max-age=600"), "cdn.example.com", part=part)
    message = str(error.value)
    assert message.startswith("--custom-domain='cdn.example.com' with PUBLIC_MEDIA=false (--env=demo): "
                              "a custom domain cannot sign URLs")
    assert "drop --custom-domain" in message and "\n" not in message
