"""What provision prints for a CDN in front of the bucket (MEDIA_CUSTOM_DOMAIN): text only, no network."""

import json
from pathlib import Path

from deploy.config.load import load_settings
from deploy.provision import apply
from deploy.provision.cdn_steps import cdn_steps, host_of
from deploy.provision.desired import desired_for
from deploy.provision.plan import Observed

from .configs import MINIMAL

KEY = "AWS_ACCESS_KEY_ID=AKIAFILE\nAWS_SECRET_ACCESS_KEY=file-secret\n"
AWS = MINIMAL + KEY + "AWS_S3_REGION_NAME=eu-west-1\nAWS_LOCATION=uploads\n"


def settings_of(tmp_path: Path, extra: str):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(extra)
    return load_settings("demo", tmp_path, {})


def statement_in(lines: list[str]) -> dict:
    """The JSON block of the lines (indented by four spaces), parsed."""
    start = lines.index("    {")
    end = lines.index("    }", start)
    return json.loads("\n".join(lines[start:end + 1]))


def test_no_custom_domain_no_steps(tmp_path):
    assert cdn_steps(settings_of(tmp_path, AWS)) == []


def test_on_aws_the_origin_the_cloudfront_statement_the_cname_and_the_certificate(tmp_path):
    lines = cdn_steps(settings_of(tmp_path, AWS + "MEDIA_CUSTOM_DOMAIN=cdn.example.com\n"))
    text = "\n".join(lines)
    assert lines[0] == "by hand, for the CDN serving cdn.example.com (provision does none of it):"
    assert ("  origin: my-media.s3.eu-west-1.amazonaws.com over HTTPS, "
            "origin path empty: django keeps uploads/ in every media URL") in text
    assert statement_in(lines) == {
        "Sid": "CloudFrontReadMedia", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-media/uploads/*",
        "Condition": {"StringEquals": {
            "AWS:SourceArn": "arn:aws:cloudfront::<ACCOUNT_ID>:distribution/<DISTRIBUTION_ID>"}}}
    assert "PUBLIC_MEDIA=true the public-read policy already lets any CDN GET uploads/*" in text
    assert "  DNS: a CNAME cdn.example.com -> the distribution's domain (dxxxx.cloudfront.net)" in lines
    assert "  TLS: a certificate for cdn.example.com (ACM, in us-east-1 for CloudFront)" in text
    assert lines[-1] == "  then the cutover's preflight checks that cdn.example.com serves s3://my-media/uploads/"


def test_a_port_is_no_part_of_the_dns_name_and_plain_http_needs_no_certificate(tmp_path):
    assert host_of("cdn.example.com:8443") == "cdn.example.com" and host_of("[::1]") == "[::1]"
    lines = cdn_steps(settings_of(tmp_path, AWS + "MEDIA_CUSTOM_DOMAIN=http://cdn.example.com:8080\n"))
    assert "  DNS: a CNAME cdn.example.com -> the distribution's domain (dxxxx.cloudfront.net)" in lines
    assert not any("certificate" in line for line in lines)


def test_an_s3_compatible_store_gets_its_path_style_origin_and_the_rest_is_the_cdns_own(tmp_path):
    lines = cdn_steps(settings_of(tmp_path, MINIMAL + KEY + "AWS_S3_ENDPOINT_URL=https://store.example.net\n"
                                                      "MEDIA_CUSTOM_DOMAIN=cdn.example.com\n"))
    assert lines[1].startswith("  origin: store.example.net over HTTPS, origin path /my-media "
                               "(path style): django keeps media/ in every media URL")
    assert "not AWS" in lines[2] and "this tool does none" in lines[2] and "cdn.example.com" in lines[2]
    assert not any("cloudfront" in line for line in lines)


def test_a_dry_run_of_provision_prints_the_steps_after_the_plan(tmp_path, monkeypatch):
    settings = settings_of(tmp_path, AWS + "MEDIA_CUSTOM_DOMAIN=cdn.example.com\n")

    class InPlace:   # the store, as a complete provision left it
        def __init__(self, settings, admin):
            self.desired = desired_for(settings)

        def observe(self):
            return Observed(bucket=True, bucket_policy=self.desired.bucket_policy,
                            access_block=self.desired.access_block, ownership=self.desired.ownership, group=True,
                            group_policy=self.desired.writer_policy, user=True, member=True)

    monkeypatch.setattr(apply, "Provisioner", InPlace)
    said = []
    apply.run_provision(settings, settings, apply.ProvisionOptions(dry_run=True), said.append)
    at = said.index("by hand, for the CDN serving cdn.example.com (provision does none of it):")
    assert said[at - 1].startswith("dry run: nothing changed")
    assert said[at:] == cdn_steps(settings)
