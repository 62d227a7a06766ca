"""Shape (b) end to end, as an operator runs it: `invoke rehearse --env=sandbox-package`, which runs the
preflight, the cutover and the rollback under traffic, on a settings package under its production module
with no /healthz and media only on the HTML page /gallery/ behind nginx (which serves /media/ from disk).
The health checks read that page.

Run under the shared sandbox lock, like every integration test; the shape and the bucket prefix are reset
before and after.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import http_get, invoke, shapes_up, upload

pytestmark = pytest.mark.slow

ENV = "--env=sandbox-package"
SHORT = ("--hold=1", "--upload-rate=3", "--readers=1")  # as tests/integration/test_rehearse.py
GALLERY_SIZE = 30  # shopsite.views.NEWEST: the gallery shows the newest 30 files


def reset_shape(project_root: Path) -> None:
    output = invoke(project_root, "sandbox.reset", "--shape=package", "--empty-bucket").stdout
    assert "shape package reset" in output


@pytest.fixture(scope="module")
def package(sandbox, project_root) -> dict:
    state = shapes_up(project_root, "package", TEST_MEDIA_FILES)["package"]
    reset_shape(project_root)
    # The database is every shape's: other tests leave rows whose files went with the bucket they emptied.
    # The gallery shows the newest files only, so fresh uploads make all it shows real.
    for number in range(GALLERY_SIZE):
        upload(state["hosts"]["web1"]["site_url"], f"package shape {number}.jpg", b"\xff\xd8\xff\xe0" + bytes(500))
    yield state
    reset_shape(project_root)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.stylesheets = [], []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"])
        elif tag == "link" and values.get("rel") == "stylesheet":
            self.stylesheets.append(values["href"])


def gallery(host: dict) -> _Page:
    status, body, _ = http_get(host["page_url"])
    assert status == 200, f"GET {host['page_url']} answered {status}"
    page = _Page()
    page.feed(body.decode())
    assert page.images and len(page.stylesheets) == 1
    return page


def assert_images(host: dict, page: _Page, base: str) -> None:
    """Every image of the gallery is under ``base``; a few fetch (200, not an HTML page)."""
    for src in page.images:
        url = src if src.startswith("http") else host["site_url"] + src
        assert url.startswith(base), f"{host['ssh_alias']}: {src} is not under {base}"
    for src in page.images[:5]:
        url = src if src.startswith("http") else host["site_url"] + src
        status, _, headers = http_get(url)
        assert status == 200 and not headers["Content-Type"].startswith("text/html"), (url, status, headers)


def test_a_rehearsal_cuts_over_and_back_through_nginx_with_the_pages_as_health(package, project_root):
    """`invoke rehearse` runs the preflight, `invoke cutover` and `invoke rollback` under traffic: one run
    proves both directions on this shape (a separate cutover and rollback cost the suite half a minute)."""
    hosts = package["hosts"]
    before = {alias: Path(host["settings_path"]).read_bytes() for alias, host in hosts.items()}
    css = {alias: gallery(host).stylesheets[0] for alias, host in hosts.items()}
    assert all(re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", href) for href in css.values()), css
    for host in hosts.values():
        assert_images(host, gallery(host), host["site_url"] + "/media/")

    result = invoke(project_root, "rehearse", ENV, *SHORT, check=False, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    directory = project_root / re.search(r"report: (runs/rehearsal-\S+)/report\.md", result.stdout)[1]
    report = json.loads((directory / "report.json").read_text())
    records = [json.loads(line) for line in (directory / "requests.jsonl").read_text().splitlines()]
    assert result.returncode == 0 and report["passed"], result.stdout[-3000:]

    assert [(phase["phase"], phase["result"]) for phase in report["phases"]] == [("cutover", "ok"), ("rollback", "ok")]
    assert report["requests"]["failed"] == 0, report["requests"]["failure_samples"]
    uploads = report["uploads"]
    assert uploads["answered"] > 5 and uploads["checked"] == uploads["answered"] and uploads["lost"] == 0
    # No /healthz and no /files/ were asked: the readers read the gallery, and the storage its images show.
    assert not [r for r in records if "/healthz" in r["url"] or "/files/" in r["url"]]
    health = [r for r in records if r["kind"] == "health"]
    assert {r["url"] for r in health} == {host["page_url"] for host in package["hosts"].values()}
    assert {"s3", "disk"} <= {r["storage"] for r in health}
    assert {"bucket", "disk"} <= {r["storage"] for r in records if r["kind"] == "media"}
    for window in report["windows"]:
        assert window["observed"]["seconds_to_first_answer_on_target"] > 0
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["every host ends on disk"]["ok"], checks["every host ends on disk"]["detail"]
    # Back on disk, byte-identical, nginx serving the media, the hashed static URL as before.
    for alias, host in hosts.items():
        page = gallery(host)
        assert page.stylesheets[0] == css[alias]
        assert_images(host, page, host["site_url"] + "/media/")
        assert Path(host["settings_path"]).read_bytes() == before[alias]
