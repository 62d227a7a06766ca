"""Gunicorn settings for the env-configured site on one sandbox host.

Started (and restarted) by restart.sh beside this file. The app is preloaded in
the master, as many production configs do to save memory: a HUP would restart
the workers from the settings already loaded, so new .env values need a full
restart (RELOAD_COMMAND=~/shapes/envfile/restart.sh).
"""
import os
from pathlib import Path

import environ

SITE_DIR = Path(__file__).resolve().parent
RUN_DIR = SITE_DIR / "run"
LOG_DIR = SITE_DIR / "logs"

# The master reads .env once per start (preload imports the settings, which read it too).
env = environ.Env()
environ.Env.read_env(SITE_DIR / ".env")

RUN_DIR.mkdir(exist_ok=True)
LOG_DIR.mkdir(exist_ok=True)

chdir = str(SITE_DIR)
bind = f"127.0.0.1:{env.int('SITE_PORT')}"
workers = 2
worker_class = "gthread"
threads = 4
graceful_timeout = 20
preload_app = True

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
