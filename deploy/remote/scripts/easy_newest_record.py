"""The newest record of a move of easy_thumbnails' rows to a hash, for deploy/site/ops/thumbnails.py.

Runs on the media host with REMOTE_PYTHON (``python3 -c <this> DIRECTORY HASH ENV``): among DIRECTORY's
``*-ENV-easy-rows.json`` (newest first: run ids sort by time), the first whose move went to HASH.
Prints {"record": path} or {"record": null}.
"""

import glob, json, os, sys
directory, wanted = os.path.expanduser(sys.argv[1]), sys.argv[2]
for path in sorted(glob.glob(os.path.join(directory, "*-%s-easy-rows.json" % sys.argv[3])), reverse=True):
    try:
        with open(path, encoding="utf-8") as record:
            if json.load(record)["hashes"]["to"] == wanted:
                print(json.dumps({"record": path}))
                break
    except (OSError, ValueError, KeyError):
        continue
else:
    print(json.dumps({"record": None}))
