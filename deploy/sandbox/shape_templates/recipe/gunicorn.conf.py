"""Gunicorn settings for the recipe-era site on one sandbox host, read from site.env beside it.

Started as `cd ~/shapes/recipe && ~/site-venv/bin/gunicorn -c gunicorn.conf.py
mediasite.wsgi:application`; `kill -HUP $(cat ~/shapes/recipe/run/gunicorn.pid)` re-reads
this file and replaces the workers, which import the settings afresh.
"""
import os
import sys
from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent
RUN_DIR = SITE_DIR / "run"  # this shape keeps run/ and logs/ in its own directory
LOG_DIR = SITE_DIR / "logs"

if str(SITE_DIR) not in sys.path:  # this file runs again on every HUP
    sys.path.insert(0, str(SITE_DIR))
from mediasite.envfile import read_env_file  # noqa: E402

# Only read site.env here, never put it into os.environ: the master's
# environment outlives a HUP, and settings.py's setdefault would then keep
# serving the values from the first start.
site_env = read_env_file(SITE_DIR / "site.env")

RUN_DIR.mkdir(exist_ok=True)
LOG_DIR.mkdir(exist_ok=True)

chdir = str(SITE_DIR)
bind = f"127.0.0.1:{site_env['SITE_PORT']}"
workers = 2
worker_class = "gthread"
threads = 4
graceful_timeout = 20
# No preload_app: the master must not import Django, so that a HUP gives
# the new workers the current local_settings.py.
preload_app = False

daemon = True
pidfile = str(RUN_DIR / "gunicorn.pid")
accesslog = str(LOG_DIR / "gunicorn-access.log")
errorlog = str(LOG_DIR / "gunicorn-error.log")
capture_output = True  # daemon=True sends stderr (Django's log) to /dev/null otherwise

umask = 0o002
# Gunicorn 25.1+ opens a control socket under $XDG_RUNTIME_DIR or ~/.gunicorn;
# two instances run by one user would fight over it. We signal via the pidfile.
control_socket_disable = True


def post_fork(server, worker):
    """Give each worker the group-writable umask.

    Daemonizing resets the process umask to 022 and gunicorn's `umask` only
    covers its own sockets and temp files, so files the app creates (SQLite
    journals, uploads' directories) would not be group-writable otherwise.
    """
    os.umask(umask)
