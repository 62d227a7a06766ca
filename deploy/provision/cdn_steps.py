"""What is left to do by hand for a CDN in front of the bucket (MEDIA_CUSTOM_DOMAIN): pure text.

`invoke provision` makes the bucket, its policy and the deploy key; the CDN
itself (its distribution, its access to the bucket, the DNS name and its
certificate) is the operator's: nothing here is executed, created or faked.
The preflight of every cutover then checks that the domain serves the bucket
(``deploy.store.probe``).
"""

from __future__ import annotations

import json
import re

from ..config.types import Settings
from .policies import bucket_arn

CLOUDFRONT = "cloudfront.amazonaws.com"


def cdn_read_statement(bucket: str, prefix: str) -> dict:
    """The bucket policy statement that lets one CloudFront distribution (Origin Access Control) GET the media,
    its account and distribution ids left as placeholders."""
    return {"Sid": "CloudFrontReadMedia", "Effect": "Allow", "Principal": {"Service": CLOUDFRONT},
            "Action": "s3:GetObject", "Resource": f"{bucket_arn(bucket)}/{prefix}/*",
            "Condition": {"StringEquals": {
                "AWS:SourceArn": "arn:aws:cloudfront::<ACCOUNT_ID>:distribution/<DISTRIBUTION_ID>"}}}


def host_of(domain: str) -> str:
    """The custom domain without its port: the name a DNS record and a certificate are for."""
    return re.sub(r":[0-9]+$", "", domain)


def cdn_steps(settings: Settings) -> list[str]:
    """The lines `invoke provision` prints for a custom domain; none without one."""
    domain = settings.custom_domain
    if not domain:
        return []
    origin, path = settings.bucket_origin
    prefix, host = settings.media_prefix, host_of(domain)
    scheme, _, origin_host = origin.partition("://")
    lines = [f"by hand, for the CDN serving {domain} (provision does none of it):",
             f"  origin: {origin_host} over {scheme.upper()}, origin path "
             + (f"{path} (path style)" if path else "empty")
             + f": django keeps {prefix}/ in every media URL, the CDN passes the path on as it is"]
    if settings.endpoint_url:
        return lines + [f"  the store is {settings.endpoint_url}, not AWS: the CDN's access to the bucket, a DNS "
                        f"record for {host} and its certificate are that CDN's own steps; this tool does none"]
    statement = json.dumps(cdn_read_statement(settings.bucket, prefix), indent=2)
    lines += [f"  bucket access: with PUBLIC_MEDIA=true the public-read policy already lets any CDN GET {prefix}/*; "
              f"to let only a CloudFront distribution read (Origin Access Control), add this statement to the "
              f"bucket policy of {settings.bucket}, its ids filled in (provision then reports that policy as "
              "drifted: leave it, do not --replace-drifted):",
              *("    " + line for line in statement.splitlines()),
              f"  DNS: a CNAME {host} -> the distribution's domain (dxxxx.cloudfront.net)"]
    if settings.custom_domain_scheme == "https":
        lines.append(f"  TLS: a certificate for {host} (ACM, in us-east-1 for CloudFront), set on the distribution")
    lines.append(f"  then the cutover's preflight checks that {domain} serves s3://{settings.bucket}/{prefix}/")
    return lines
