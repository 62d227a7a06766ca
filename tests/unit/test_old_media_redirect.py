"""Old media URLs after the switch: `settings-snippet --part=nginx` and `--part=django-redirect`.

The nginx locations for each kind of MEDIA_URL (/media/, Mezzanine's /static/media/, /uploads/), checked by
``nginx -t`` and answered by a real nginx when this machine has one; the Django view
(deploy/site/programs/media_redirect.py) under a real Django when the sandbox's site venv is there.
"""

import http.client
import json
import shutil
import socket
import subprocess
import textwrap
import time
from dataclasses import replace

import pytest

from deploy.errors import ConfigError
from deploy.site.edits import snippet
from deploy.site.site_python import program

from .site_django import needs_django, site_python
from .test_snippet import aws, store  # noqa: F401  (the fixtures)

NGINX = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if shutil.os.path.exists(path)), None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="no nginx on this machine")
FORMS = ["/media/", "/static/media/", "/uploads/"]


def nginx_part(settings, media_url, media_root="/srv/site/media", custom_domain=None):
    return snippet.render(settings, custom_domain, part="nginx", media_url_override=media_url, media_root=media_root)


@pytest.mark.parametrize("media_url", FORMS)
def test_the_nginx_locations_capture_the_name_after_the_old_media_url(aws, media_url):
    block = nginx_part(aws, media_url)
    assert f"location ~ ^{media_url}(?<media_cutover_name>.+)$ {{" in block
    assert "    root /srv/site/media;  # MEDIA_ROOT\n    try_files /$media_cutover_name @media_cutover_bucket;" in block
    assert f'if ($request_uri ~ "^{media_url}(?<media_cutover_key>[^?#]*)")' in block
    assert "return 301 https://my-media.s3.eu-west-1.amazonaws.com/uploads/media/$media_cutover_key;" in block


def test_the_redirect_goes_to_the_custom_domain_and_the_old_path_defaults_to_disk_media_url(aws):
    block = snippet.render(replace(aws, disk_media_url="/static/media/", media_root="/home/deploy/media"),
                           "cdn.example.com", part="nginx")
    assert "location ~ ^/static/media/(?<media_cutover_name>.+)$" in block and "root /home/deploy/media;" in block
    assert "return 301 https://cdn.example.com/uploads/media/$media_cutover_key;" in block
    assert "location ~ ^/media/(?<" in nginx_part(aws, None)   # Django's usual MEDIA_URL without DISK_MEDIA_URL
    host = nginx_part(aws, "https://media.example.com/")
    assert "the server { } block of media.example.com" in host and "location ~ ^/(?<media_cutover_name>.+)$" in host


@pytest.mark.parametrize("media_root, media_url, message", [
    (None, "/media/", r"MEDIA_ROOT is '~/webapps/media': nginx needs an absolute path, pass "
                      r"--media-root=/home/<user>/webapps/media"),
    ("/srv/my media", "/media/", "a space, quote"),
    ("/srv/media", "/me dia/", "expected letters, digits"),
    ("/srv/media", "/media/?x=1", "--media-url='/media/\\?x=1': expected a path"),
])
def test_what_nginx_could_not_read_is_refused(aws, media_root, media_url, message):
    with pytest.raises(ConfigError, match=message):
        nginx_part(aws, media_url, media_root)


def test_private_media_refuse_the_nginx_part_in_one_line_and_keep_the_django_view(aws):
    private = replace(aws, public_media=False)
    with pytest.raises(ConfigError) as refused:
        nginx_part(private, "/media/")
    assert "\n" not in str(refused.value)
    assert str(refused.value) == ("--part=nginx: PUBLIC_MEDIA=false, and nginx cannot sign a URL (the bucket answers "
                                  "403 to a private file's plain URL); use --part=django-redirect (the view "
                                  "redirects to a freshly signed URL)")
    assert snippet.render(private, part="django-redirect").endswith(program("media_redirect.py"))


def test_the_django_redirect_part_is_the_view_module_and_its_url_pattern(aws):
    printed = snippet.render(replace(aws, disk_media_url="/uploads/"), part="django-redirect")
    assert "from media_redirect import old_media_urls\n\nurlpatterns += old_media_urls('/uploads/')" in printed
    assert printed.endswith(program("media_redirect.py"))
    assert "old_media_urls('/static/media/')" in snippet.render(aws, part="django-redirect",
                                                               media_url_override="/static/media/")


def test_the_task_takes_the_media_url_and_root(tmp_path, monkeypatch, capsys):
    import tasks
    from invoke import MockContext

    from .test_snippet import CONFIG
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.env").write_text(CONFIG)
    monkeypatch.setattr(tasks, "PROJECT_ROOT", tmp_path)
    tasks.settings_snippet(MockContext(), env="demo", part="nginx", media_url="/static/media/", media_root="/srv/m")
    printed = capsys.readouterr().out
    assert "location ~ ^/static/media/(?<media_cutover_name>.+)$" in printed and "root /srv/m;" in printed


# --- a real nginx --------------------------------------------------------------------------------------

def nginx_conf(directory, block, port):
    (directory / "old_media.conf").write_text(block)
    (directory / "nginx.conf").write_text(textwrap.dedent(f"""\
        daemon off;
        master_process off;
        pid {directory}/nginx.pid;
        error_log {directory}/error.log;
        events {{}}
        http {{
            access_log off;
            client_body_temp_path {directory}/tmp;
            proxy_temp_path {directory}/tmp;
            fastcgi_temp_path {directory}/tmp;
            uwsgi_temp_path {directory}/tmp;
            scgi_temp_path {directory}/tmp;
            server {{
                listen 127.0.0.1:{port};
                location /static/ {{ return 418; }}
                include {directory}/old_media.conf;
            }}
        }}
    """))
    return directory / "nginx.conf"


@needs_nginx
@pytest.mark.parametrize("media_url", FORMS)
def test_nginx_accepts_the_block(aws, tmp_path, media_url):
    conf = nginx_conf(tmp_path, nginx_part(aws, media_url, str(tmp_path / "media")), 8)
    checked = subprocess.run([NGINX, "-t", "-q", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "e.log")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path)
    answer = connection.getresponse()
    return answer.status, answer.getheader("Location"), answer.read()


@needs_nginx
def test_nginx_serves_a_file_on_disk_and_redirects_any_other_name_as_sent(aws, tmp_path):
    media = tmp_path / "media"
    (media / "uploads").mkdir(parents=True)
    (media / "uploads" / "a b.png").write_bytes(b"on disk")
    (tmp_path / "tmp").mkdir()
    port = free_port()
    conf = nginx_conf(tmp_path, nginx_part(aws, "/static/media/", str(media)), port)
    server = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "e.log")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        bucket = "https://my-media.s3.eu-west-1.amazonaws.com/uploads/media/"
        assert get(port, "/static/media/uploads/a%20b.png") == (200, None, b"on disk")
        assert get(port, "/static/media/uploads/gone%20%C3%A9.png?v=2")[:2] == (301, bucket + "uploads/gone%20%C3%A9.png")
        assert get(port, "/static/media/../../etc/passwd")[0] == 404        # normalised: no location of ours
        assert get(port, "/static/other.css")[0] == 418                     # the site's own /static/ stays its own
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- the Django view -----------------------------------------------------------------------------------

VIEW_CHECK = '''
import json, os, sys
import django
from django.conf import settings
storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
if sys.argv[1] == "s3":
    storages = {"default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "b", "location": "media", "custom_domain": "b.s3.example.test", "access_key": "unit",
        "secret_key": "unit", "querystring_auth": False}}}
if sys.argv[1] == "signed":   # private media: django-storages signs each URL
    storages = {"default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "b", "location": "media", "endpoint_url": "https://s3.example.test", "region_name": "us-east-1",
        "access_key": "unit", "secret_key": "unit", "querystring_auth": True, "querystring_expire": 600}}}
settings.configure(DEBUG=False, ALLOWED_HOSTS=["testserver"], ROOT_URLCONF="urls", SECRET_KEY="unit",
                   MEDIA_ROOT=os.path.abspath("media"), STORAGES=storages)
django.setup()
from django.test import Client
answers = {}
for path in sys.argv[2:]:
    response = Client().get(path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    answers[path] = [response.status_code, response.get("Location"), body.decode() if response.status_code == 200 else "",
                     response.get("Cache-Control")]
print(json.dumps(answers))
'''
PATHS = ["/static/media/uploads/a.png", "/static/media/uploads/gone%20x.png", "/static/media/../secret.txt",
         "/static/media/uploads/%2e%2e/%2e%2e/secret.txt", "/static/media//etc/passwd", "/media/uploads/a.png"]


@needs_django
@pytest.mark.parametrize("storage", ["disk", "s3", "signed"])
def test_the_view_serves_from_disk_redirects_to_the_bucket_and_never_leaves_media_root(tmp_path, storage):
    (tmp_path / "media" / "uploads").mkdir(parents=True)
    (tmp_path / "media" / "uploads" / "a.png").write_text("on disk")
    (tmp_path / "secret.txt").write_text("not media")
    (tmp_path / "media_redirect.py").write_text(program("media_redirect.py"))
    (tmp_path / "urls.py").write_text("from media_redirect import old_media_urls\n"
                                      "urlpatterns = old_media_urls('/static/media/')\n")
    done = subprocess.run([site_python(), "-c", VIEW_CHECK, storage, *PATHS], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert answers["/static/media/uploads/a.png"][:3] == [200, None, "on disk"]
    status, location, _, cache = answers["/static/media/uploads/gone%20x.png"]
    if storage == "signed":   # a signed URL expires: a temporary redirect, kept by no cache
        assert (status, cache) == (302, "private, no-store")
        plain, query = location.split("?", 1)
        assert plain == "https://s3.example.test/b/media/uploads/gone%20x.png"
        assert "Signature=" in query
    else:                     # a plain URL: permanent
        assert [status, location] == (
            [301, "https://b.s3.example.test/media/uploads/gone%20x.png"] if storage == "s3" else [404, None])
    for path in PATHS[2:]:  # out of MEDIA_ROOT, or not under the old MEDIA_URL
        assert answers[path][0] == 404, path
