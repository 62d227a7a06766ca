"""Facts about the site's gunicorn master, for deploy/site/facts/gunicorn.py: one line "MEDIA-CUTOVER-RELOAD <json>".

Runs on the host with REMOTE_PYTHON as the SSH user (``python3 -c <this> PIDFILE SWITCH``): reads the
master's command line, environment and config through /proc.  PIDFILE is the one the reload command
reads (a leading ~ is expanded); SWITCH is the switch's name, looked up in the master's environment.
The marker is deploy.site.facts.gunicorn.MARKER (a unit test checks they agree).
"""

import json, os, sys
pidfile, switch = sys.argv[1], sys.argv[2]
facts = {"pid": None}
try:
    pid = int(open(os.path.expanduser(pidfile)).read().split()[0])
    args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    args = [arg.decode("utf-8", "replace") for arg in args if arg]
    facts.update(pid=pid, args=args)
    try:
        environ = dict(item.split("=", 1) for item in
                       open(f"/proc/{pid}/environ", "rb").read().decode("utf-8", "replace").split("\0") if "=" in item)
    except OSError:
        environ = None
    facts["switch_in_environment"] = None if environ is None else switch in environ
    facts["cmd_args_env"] = (environ or {}).get("GUNICORN_CMD_ARGS", "")
    config = "gunicorn.conf.py"   # what gunicorn reads from its start directory without -c
    for index, arg in enumerate(args):
        if arg in ("-c", "--config") and index + 1 < len(args):
            config = args[index + 1]
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
    facts["config_read"] = False
    if not config.startswith(("python:", "file:")):
        # A relative config is relative to where gunicorn started, which its `chdir` setting may have left:
        # the start directory is the master's PWD; its cwd now is the fallback.
        starts = [(environ or {}).get("PWD"), os.readlink(f"/proc/{pid}/cwd")]
        for start in filter(None, starts):
            try:
                facts["config_text"] = open(os.path.join(start, config), encoding="utf-8").read()[:100000]
                facts["config_read"] = True
                break
            except OSError:
                facts["config_text"] = None
except (OSError, ValueError, IndexError) as error:
    facts["error"] = f"{type(error).__name__}: {error}"
print("MEDIA-CUTOVER-RELOAD " + json.dumps(facts))
