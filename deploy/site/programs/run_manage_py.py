"""Runs manage.py as ``python manage.py ...`` would, after what was sent before it prepared the process.

``python -c <this> manage.py ARGS``: sys.argv is then ["-c", "manage.py", ARGS...]; manage.py gets
["manage.py", ARGS...] and runs as __main__.
"""

import runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
