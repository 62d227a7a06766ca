#!/bin/sh
# Full restart of the env-configured site (its RELOAD_COMMAND): TERM the gunicorn
# master, wait until it has exited (its workers finish their requests first, up to
# graceful_timeout), start it again, and wait until the new master has written its
# pidfile. The site refuses connections between the two: that is what a restart costs.
set -eu
cd "$(dirname "$0")"
pidfile=run/gunicorn.pid

old=""
if [ -f "$pidfile" ]; then
    old=$(cat "$pidfile")
    # Only our own master: a stale pidfile's number may be another process of this user's now.
    if grep -qs envsite.wsgi "/proc/$old/cmdline" && kill -TERM "$old" 2>/dev/null; then
        tries=0
        while kill -0 "$old" 2>/dev/null; do
            tries=$((tries + 1))
            if [ "$tries" -gt 300 ]; then
                echo "restart.sh: gunicorn master $old has not exited after 30 s" >&2
                exit 1
            fi
            sleep 0.1
        done
    fi
fi

# A clean environment, as systemd would give the service: a USE_S3 from the caller's
# shell would otherwise win over the .env file (django-environ only sets what is unset).
env -i HOME="$HOME" USER="${USER:-$(id -un)}" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    "$HOME/site-venv/bin/gunicorn" -c gunicorn.conf.py envsite.wsgi:application

tries=0
while :; do
    new=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$new" ] && [ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null; then
        exit 0
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 150 ]; then
        echo "restart.sh: gunicorn did not start within 15 s; see $(pwd)/logs/gunicorn-error.log" >&2
        exit 1
    fi
    sleep 0.1
done
