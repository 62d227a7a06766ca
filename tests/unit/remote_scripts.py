"""What the tests of the scripts run on the hosts (deploy/remote/scripts/) share: where they are, how to run one.

They run as real subprocesses against trees under tmp_path, the way the hosts run them.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import deploy.remote.scripts

REMOTE = Path(deploy.remote.scripts.__file__).parent


MANIFEST = REMOTE / "media_manifest.py"


WRITER = REMOTE / "write_settings.py"


def run(script, *args, stdin=b"", python=sys.executable, **kwargs):
    return subprocess.run([python, str(script), *map(str, args)], input=stdin,
                          capture_output=True, timeout=60, **kwargs)


def sha(data):
    return hashlib.sha256(data).hexdigest()
