"""`invoke settings-snippet`, pasted into shape (b)'s local.py, keeps the site's hashed static URLs."""

from __future__ import annotations

import base64
import json
import shlex
import uuid

import pytest

from deploy.config.load import load_settings
from deploy.site.edits import snippet
from deploy.site.edits.settings_file import set_use_s3

from .test_sandbox_shapes import as_host, shapes  # noqa: F401  (shapes: the module fixture)

pytestmark = pytest.mark.slow

PROBE = ("import json; from django.conf import settings; from django.templatetags.static import static; "
         "from django.core.files.storage import storages; s = storages['default']; "
         "print('PROBE', json.dumps({'static': static('css/site.css'), "
         "'staticfiles': settings.STORAGES['staticfiles']['BACKEND'], "
         "'storage': type(s).__module__ + '.' + type(s).__qualname__, 'bucket': s.bucket_name, "
         "'location': s.location, 'media_url': settings.MEDIA_URL}))")


def test_the_printed_block_in_a_settings_packages_local_py_keeps_manifest_static_files(shapes, sandbox,  # noqa: F811
                                                                                     project_root):
    settings = load_settings("sandbox-package", project_root)
    local_py = set_use_s3(snippet.settings_block(settings), "local.py", True)
    encoded = base64.b64encode(local_py.encode()).decode()
    scratch = f"~/shapes/.scratch-snippet-{uuid.uuid4().hex[:8]}"
    script = (f"cp -a ~/shapes/package {scratch} && "
              f"printf %s {encoded} | base64 -d > {scratch}/shopsite/settings/local.py && "
              f"(cd {scratch} && DJANGO_SETTINGS_MODULE=shopsite.settings.production "
              f"~/site-venv/bin/python manage.py shell -c {shlex.quote(PROBE)}); "
              f"status=$?; rm -rf {scratch}; exit $status")
    found = json.loads(as_host(sandbox, "web1", script).split("PROBE ", 1)[1].splitlines()[0])
    assert found["staticfiles"] == "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    assert found["static"].startswith("/static/css/site.") and found["static"] != "/static/css/site.css"
    assert found["storage"] == "storages.backends.s3.S3Storage"
    assert (found["bucket"], found["location"]) == (settings.bucket, settings.media_prefix)
    assert found["media_url"] == f"{settings.bucket_url}/{settings.media_prefix}/"
