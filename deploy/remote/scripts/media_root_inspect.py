"""MEDIA_ROOT and the displaced directory as the rollback's download must know them,
for deploy/sync/download_commands.py.

Runs on the media host with REMOTE_PYTHON (``python3 -c <this> MEDIA_ROOT DISPLACED``), read-only.
Prints one JSON object: root_mode (None when MEDIA_ROOT is no directory), and with it the real paths
of both, and displaced_used (the displaced path exists and is not an empty directory).
"""

import json, os, sys
root, displaced = sys.argv[1:3]
info = {"root_mode": None}
if os.path.isdir(root):
    info["root_mode"] = os.stat(root).st_mode & 0o7777
    info["root"] = os.path.realpath(root)
    info["displaced"] = os.path.realpath(displaced)
    info["displaced_used"] = os.path.lexists(displaced) and not (
        os.path.isdir(displaced) and not os.path.islink(displaced) and not os.listdir(displaced))
print(json.dumps(info))
