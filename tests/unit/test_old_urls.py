"""The content's old media URLs that redirect to the bucket (deploy.flows.old_urls, deploy.site.facts/ops.redirects):
reclaim's preflight asks a made-up name at every host, the step after the removal a sample of the content's
old URLs, each 301 to the storage's URL and that URL 200.  Tiny HTTP servers on 127.0.0.1 play each host's
front end (the snippet's nginx block: the file from disk while it is there, else 301) and the bucket."""

import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

import pytest

from deploy.config.load import load_settings
from deploy.engine.run import Options
from deploy.engine.runner import Runner, Step
from deploy.errors import HealthError, PreflightError, StepFailed
from deploy.flows import content, old_urls, reclaim
from deploy.media.free_disk import Removal
from deploy.media.proof import Proven
from deploy.site.facts import content_urls as facts
from deploy.site.facts import redirects
from deploy.site.facts.content_urls import StorageUrls
from deploy.site.ops import content_urls as ops

from .content_fakes import BODY, CONFIG, DATA, FakeRun, printed

SECRET = "X-Amz-Signature=0123secret"


class World:
    """What the disk and the bucket hold, and how each host's front end answers a name not on disk."""

    def __init__(self):
        self.disk = {"a.png", "b c.pdf", "c.png"}
        self.bucket = {"a.png", "b c.pdf", "c.png"}
        self.fallback = {"web1": 301, "web2": 301}   # 404: no fallback installed; 302: a temporary one
        self.signed = False
        self.asked = []

    def bucket_url(self, name):
        return f"{self.bucket_base}media/{quote(name)}"


def serve(world, place):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            world.asked.append((place, self.path))
            path = urlsplit(self.path).path
            if place == "bucket":
                name = unquote(path.removeprefix("/media/"))
                found = name in world.bucket
                self.answer(200 if found else 404, b"bytes" if found else b"<Error><Code>NoSuchKey</Code></Error>")
            elif path.startswith("/media/"):
                name = unquote(path.removeprefix("/media/"))
                status = 200 if name in world.disk else world.fallback[place]
                target = world.bucket_url(name) + (f"?{SECRET}" if world.signed else "")
                self.answer(status, b"file" if status == 200 else b"", {"Location": target} if status in (
                    301, 302, 308) else {})
            else:
                self.answer(404, b"")

        def answer(self, status, body, headers=()):
            self.send_response(status)
            for key, value in dict(headers).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def world(tmp_path, monkeypatch):
    world = World()
    servers = {place: serve(world, place) for place in ("web1", "web2", "bucket")}
    world.origin = {place: f"http://127.0.0.1:{server.server_address[1]}" for place, server in servers.items()}
    world.bucket_base = world.origin["bucket"] + "/"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "prod.env").write_text(
        CONFIG + f"SITE_URL__WEB1={world.origin['web1']}\nSITE_URL__WEB2={world.origin['web2']}\n"
        "STORE_RETRY_ATTEMPTS=2\n")
    world.settings = load_settings("prod", tmp_path, {})
    body = dict(BODY, examples=["/media/a.png", f"{world.origin['web1']}/media/b%20c.pdf", "/media/c.png"],
                names=["a.png", "b c.pdf", "c.png"])
    world.fields = [body, DATA]

    def find(run, forms, names_limit=facts.NAMES_LIMIT, media_root=True):
        return facts.parse_find(printed({"fields": world.fields, "fields_scanned": 9}), "web2", forms)

    def storage_urls(run, names):
        return StorageUrls("storages.backends.s3.S3Storage", False, {name: world.bucket_url(name) for name in names})
    monkeypatch.setattr(ops, "find", find)
    monkeypatch.setattr(ops, "storage_urls", storage_urls)
    yield world
    for server in servers.values():
        server.shutdown()
        server.server_close()


def reclaim_run(world, accept=False, removed=("a.png", "b c.pdf", "c.png")):
    run = FakeRun(world.settings, options=Options(accept_content_urls=accept, delete_local=True))
    run.state = reclaim.ReclaimState()
    run.state.reclaim.removal = Removal(removed=[Proven(name, 5, 0, 0, "m") for name in removed])
    return run


SUMMARY = ("27 old media URLs in 2 fields (blog.Post.body 25, pages.Page.data 2; /media/…, //10.0.0.5:8001/media/…, "
           "//www.example.com/media/…, ")


# --- reclaim's preflight: a made-up name ----------------------------------------------------------------

def test_the_preflight_passes_when_a_name_no_disk_holds_redirects_to_the_bucket_on_every_host(world):
    run = reclaim_run(world)
    line = content.refuse_content_urls(run)
    assert line.startswith("content: 27 old media URLs in 2 fields") and line.endswith(
        ": redirected to the bucket (checked on web1, web2)")
    assert run.state.content.redirect.decided == "redirected"
    asked = [(place, path) for place, path in world.asked]
    assert [place for place, _ in asked] == ["web1", "web2"]   # the Location is not fetched: the bucket has no such
    assert all(path.startswith("/media/media-cutover-probe-") and path.endswith(".jpg") for _, path in asked)


def test_the_preflight_refuses_in_one_line_where_a_host_has_no_fallback_unless_accepted(world):
    world.fallback["web2"] = 404
    world.signed = True
    with pytest.raises(PreflightError) as refused:
        content.refuse_content_urls(reclaim_run(world))
    message = str(refused.value)
    assert "\n" not in message and SECRET not in message
    assert message.startswith("content: 27 old media URLs in 2 fields")
    assert f" still ask the disk reclaim frees, and a name not on disk is not redirected to the bucket (web2: " \
           f"{world.origin['web2']}/media/media-cutover-probe-" in message
    assert f".jpg answered HTTP 404, expected 301 to {world.origin['bucket']}/media/media-cutover-probe-" in message
    assert message.endswith(".jpg): rewrite them first (`invoke rewrite-urls --env=prod`), or install the redirect "
                            "from `invoke settings-snippet --env=prod --part=nginx`; or pass --accept-content-urls")
    run = reclaim_run(world, accept=True)
    assert ": accepted (--accept-content-urls); the redirect to the bucket was not seen: web2: " in (
        content.refuse_content_urls(run))
    assert run.state.content.redirect.decided == "accepted"


def test_a_temporary_redirect_is_not_one_and_no_message_shows_a_query_string(world):
    world.fallback["web1"] = 302
    world.signed = True
    places, problems = old_urls.redirect_installed(reclaim_run(world), ops.find(None, content.forms(FakeRun(
        world.settings))))
    assert places == ["web2"] and len(problems) == 1
    assert problems[0].startswith(f"web1: {world.origin['web1']}/media/media-cutover-probe-")
    assert " answered HTTP 302 (a temporary redirect), expected 301 to " in problems[0] and SECRET not in problems[0]


# --- after the removal: a sample of the content's old URLs ----------------------------------------------

def decided(run, how="redirected"):
    content.refuse_content_urls(run)
    run.state.content.redirect.decided = how
    return run


def test_after_the_removal_each_host_answers_301_to_the_bucket_and_each_target_200(world):
    run = decided(reclaim_run(world))
    world.disk.clear()
    world.signed = True   # a private bucket's signed URL: fetched, never shown
    world.asked.clear()
    said = reclaim.check_old_urls(run)
    assert said.splitlines() == ["web1: 3 old URLs answer 301 to the bucket, each target 200",
                                 "web2: 2 old URLs answer 301 to the bucket, each target 200"]
    assert sorted(path for place, path in world.asked if place == "web1") == [
        "/media/a.png", "/media/b%20c.pdf", "/media/c.png"]
    assert sum(1 for place, _ in world.asked if place == "bucket") == 5


def test_a_target_the_bucket_lacks_fails_the_step_and_the_removal_is_downloaded_back(world, monkeypatch):
    run = decided(reclaim_run(world))
    world.disk.clear()
    world.bucket.discard("c.png")
    world.signed = True
    downloaded = []
    monkeypatch.setattr(reclaim.delta, "download_keys", lambda run_, keys, settings: downloaded.append(keys))
    check = reclaim.RECLAIM[-1]
    assert check.name == "the content's old media URLs redirect to the bucket" and check.undo is None
    said = []
    with pytest.raises(StepFailed) as failed:
        Runner(run.journal, said.append).execute([Step("remove", lambda run_: "", undo=reclaim.put_back), check], run)
    web1, bucket = world.origin["web1"], world.origin["bucket"]
    assert (f"old media URL not redirected after the removal: web1: {web1}/media/c.png redirects to {bucket}/media/"
            "c.png?<redacted>, which answered HTTP 404 NoSuchKey (and 1 more)") in str(failed.value)
    assert SECRET not in str(failed.value)
    assert said[-2:] == ["<== undo remove", "    downloaded the 3 removed files back into ~/webapps/media"]
    assert downloaded == [["media/a.png", "media/b c.pdf", "media/c.png"]]


def test_accepted_old_urls_that_do_not_redirect_are_said_not_failed(world):
    run = decided(reclaim_run(world, accept=True), "accepted")
    world.disk.clear()
    world.fallback["web2"] = 404
    lines = reclaim.check_old_urls(run).splitlines()
    assert lines[0] == "web1: 3 old URLs answer 301 to the bucket, each target 200"
    assert lines[1].startswith(f"NOT redirected (accepted: --accept-content-urls): web2: {world.origin['web2']}/media/")
    assert len(lines) == 3


def test_after_the_removal_nothing_is_asked_without_old_urls_or_removed_files(world):
    run = reclaim_run(world)
    assert reclaim.check_old_urls(run) == "no old media URL in the content to ask"
    run = decided(reclaim_run(world, removed=()))
    assert reclaim.check_old_urls(run) == "nothing removed: the content's old URLs are still served from disk"
    run = decided(reclaim_run(world, removed=("other.png",)))
    assert reclaim.check_old_urls(run) == "none of the 5 old URLs sampled names a removed file: nothing to ask"


# --- what is asked where (pure) -----------------------------------------------------------------------

def test_relative_urls_are_asked_of_every_host_absolute_ones_of_their_own_host():
    forms = facts.url_forms("/media/", ["http://10.0.0.5:8001", "http://10.0.0.6:8001"], ["www.example.com"])
    report = facts.parse_find(printed({"fields": [dict(BODY, examples=[
        "/media/a%20b.png", "https://www.example.com/media/b.pdf", "//10.0.0.6:8001/media/c&amp;d.png",
        "/media/../etc/passwd"])], "fields_scanned": 1}), "web2", forms)
    sites = {"web1": "http://10.0.0.5:8001/", "web2": "http://10.0.0.6:8001"}
    asked = {place: [(old.url, old.name) for old in olds] for place, olds in redirects.samples(report, sites).items()}
    assert asked == {"web1": [("http://10.0.0.5:8001/media/a%20b.png", "a b.png")],
                     "web2": [("http://10.0.0.6:8001/media/a%20b.png", "a b.png"),
                              ("http://10.0.0.6:8001/media/c%26d.png", "c&d.png")],
                     "www.example.com": [("https://www.example.com/media/b.pdf", "b.pdf")]}   # three a field
    probes = redirects.probes(report, sites, "media-cutover-probe-x.jpg")
    assert [(old.place, old.url) for old in probes] == [
        ("web1", "http://10.0.0.5:8001/media/media-cutover-probe-x.jpg"),
        ("web2", "http://10.0.0.6:8001/media/media-cutover-probe-x.jpg"),
        ("www.example.com", "https://www.example.com/media/media-cutover-probe-x.jpg")]
    old = redirects.OldUrl("http://10.0.0.5:8001/media/a.png", "a.png", "web1")
    expected = "https://b.s3.amazonaws.com/media/a.png"
    assert redirects.redirect_problem(old, 301, b"", expected + "?X-Amz-Signature=s", expected, signed=False) is None
    assert redirects.redirect_problem(old, 308, b"", "https://b.s3.amazonaws.com/media/a%2Epng", expected,
                                      signed=False) is None
    assert redirects.redirect_problem(old, 301, b"", "https://cdn.example.com/media/a.png?t=1", expected,
                                      signed=False) == (
        "web1: http://10.0.0.5:8001/media/a.png answered 301 to https://cdn.example.com/media/a.png?<redacted>, not "
        "to the storage's URL https://b.s3.amazonaws.com/media/a.png")
    assert redirects.redirect_problem(old, 200, b"", None, expected, signed=False) == (
        "web1: http://10.0.0.5:8001/media/a.png answered HTTP 200, expected 301 to "
        "https://b.s3.amazonaws.com/media/a.png")


def test_private_media_pass_a_temporary_or_permanent_redirect_to_a_signed_url_only():
    old = redirects.OldUrl("http://10.0.0.5:8001/media/a.png", "a.png", "web1")
    expected = "https://s3.example.test/b/media/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=one"
    plain = "https://s3.example.test/b/media/a.png"
    for status in (302, 307, 301, 308):   # the printed view answers 302; a permanent one to a signed URL passes too
        assert redirects.redirect_problem(old, status, b"", plain + "?X-Amz-Signature=two", expected,
                                          signed=True) is None
    assert redirects.redirect_problem(old, 302, b"", plain + "?AWSAccessKeyId=k&Signature=s&Expires=1", expected,
                                      signed=True) is None   # SigV2
    assert redirects.redirect_problem(old, 302, b"", plain, expected, signed=True) == (
        "web1: http://10.0.0.5:8001/media/a.png answered 302 to https://s3.example.test/b/media/a.png, unsigned: "
        "private media (PUBLIC_MEDIA=false) need a signed URL, expected 302 to a signed URL of "
        "https://s3.example.test/b/media/a.png")
    unsigned_query = redirects.redirect_problem(old, 302, b"", plain + "?v=2", expected, signed=True)
    assert unsigned_query.startswith("web1: http://10.0.0.5:8001/media/a.png answered 302 to "
                                     "https://s3.example.test/b/media/a.png?<redacted>, unsigned: ")
    assert redirects.redirect_problem(old, 302, b"", "https://cdn.example.com/media/a.png?Signature=s", expected,
                                      signed=True) == (
        "web1: http://10.0.0.5:8001/media/a.png answered 302 to https://cdn.example.com/media/a.png?<redacted>, not "
        "to the storage's URL https://s3.example.test/b/media/a.png")
    assert redirects.redirect_problem(old, 303, b"", plain + "?X-Amz-Signature=s", expected, signed=True) == (
        "web1: http://10.0.0.5:8001/media/a.png answered HTTP 303 (a temporary redirect), expected 302 to a signed "
        "URL of https://s3.example.test/b/media/a.png")
    # public media: a temporary redirect still fails, signed or not
    assert "answered HTTP 302 (a temporary redirect), expected 301 to " in redirects.redirect_problem(
        old, 302, b"", plain + "?X-Amz-Signature=two", expected, signed=False)


def private(world):
    world.settings = replace(world.settings, public_media=False)
    world.signed = True
    world.fallback = {"web1": 302, "web2": 302}   # the printed view, to a signed URL
    return world


def test_private_media_a_302_to_a_signed_url_is_the_redirect_and_the_target_is_fetched_signed(world):
    run = decided(reclaim_run(private(world)))
    assert run.state.content.redirect.decided == "redirected"
    assert old_urls.preview_after_removal(run).endswith("at each host: 302 to the storage's signed URL, each "
                                                        "target 200")
    world.disk.clear()
    world.asked.clear()
    said = reclaim.check_old_urls(run)
    assert said.splitlines() == ["web1: 3 old URLs answer 302 to the bucket, each target 200",
                                 "web2: 2 old URLs answer 302 to the bucket, each target 200"]
    fetched = [path for place, path in world.asked if place == "bucket"]
    assert len(fetched) == 5 and all(path.endswith(f"?{SECRET}") for path in fetched)   # the Location as given
    assert SECRET not in said


def test_private_media_a_302_to_an_unsigned_url_fails_the_preflight_and_the_check(world):
    private(world).signed = False
    places, problems = old_urls.redirect_installed(reclaim_run(world), ops.find(None, content.forms(FakeRun(
        world.settings))))
    assert places == [] and len(problems) == 2
    assert problems[0].startswith(f"web1: {world.origin['web1']}/media/media-cutover-probe-")
    assert ", unsigned: private media (PUBLIC_MEDIA=false) need a signed URL, expected 302 to a signed URL of " \
           f"{world.origin['bucket']}/media/media-cutover-probe-" in problems[0]
    world.signed = True
    run = decided(reclaim_run(world))
    world.disk.clear()
    world.signed = False   # e.g. the view swapped for a plain redirect after the preflight
    with pytest.raises(HealthError, match=r"^old media URL not redirected after the removal: web1: .*, unsigned: "):
        reclaim.check_old_urls(run)
