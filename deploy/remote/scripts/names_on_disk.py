"""Which of the names on stdin (one JSON list of paths below ROOT) are on disk, for deploy/media/manifest.py.

Runs on the media host with REMOTE_PYTHON (``python3 -c <this> ROOT``; a leading ~ is expanded).
Prints the JSON list of those that exist (a dangling symlink counts: lexists).
"""

import json, os, sys
root = os.path.expanduser(sys.argv[1])
print(json.dumps([n for n in json.load(sys.stdin) if os.path.lexists(os.path.join(root, n))]))
