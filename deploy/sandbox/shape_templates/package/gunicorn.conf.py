"""Gunicorn settings for the shop site on one sandbox host (behind the sandbox's nginx).

Started as `cd ~/shapes/package && ~/site-venv/bin/gunicorn -c gunicorn.conf.py
shopsite.wsgi:application`; `kill -HUP $(cat ~/shapes/package/run/gunicorn.pid)`
re-reads this file and replaces the workers, which import the settings afresh.
"""
import os
import sys
from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent
RUN_DIR = SITE_DIR / "run"
LOG_DIR = SITE_DIR / "logs"

if str(SITE_DIR) not in sys.path:  # this file runs again on every HUP
    sys.path.insert(0, str(SITE_DIR))
from shopsite.envfile import read_env_file  # noqa: E402

# Only read site.env here, never into os.environ: the master's environment
# outlives a HUP, and base.py's setdefault would keep the first start's values.
site_env = read_env_file(SITE_DIR / "site.env")

RUN_DIR.mkdir(exist_ok=True)
LOG_DIR.mkdir(exist_ok=True)

# The running site's settings module; manage.py and wsgi.py default to the dev one.
raw_env = ["DJANGO_SETTINGS_MODULE=shopsite.settings.production"]

chdir = str(SITE_DIR)
bind = f"127.0.0.1:{site_env['SITE_PORT']}"
forwarded_allow_ips = "127.0.0.1"  # nginx on loopback
workers = 2
worker_class = "gthread"
threads = 4
graceful_timeout = 20
preload_app = False  # a HUP gives the new workers the current local.py

daemon = True
pidfile = str(RUN_DIR / "gunicorn.pid")
accesslog = str(LOG_DIR / "gunicorn-access.log")
errorlog = str(LOG_DIR / "gunicorn-error.log")
capture_output = True

umask = 0o002
control_socket_disable = True  # several gunicorns per user: we signal via the pidfile


def post_fork(server, worker):
    """The group-writable umask in each worker (daemonizing reset it to 022)."""
    os.umask(umask)
