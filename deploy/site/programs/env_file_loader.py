"""An env file's lines as variables, the way systemd reads an ``EnvironmentFile``: defines media_cutover_load_env.

Runs in the site's Python before manage.py (``python -c``), sent first and followed by
``load_env_file.py`` (the file named by MEDIA_CUTOVER_ENV_FILE) or ``staged_settings.py`` (the staged
lines on stdin), which call it.  The switch (MEDIA_CUTOVER_SWITCH) and the mirror's switch
(MEDIA_CUTOVER_MIRROR_SWITCH) take the file's value; any other variable keeps the one the process
environment already has, as the running site would see it.
"""

import os, re, shlex

def media_cutover_load_env(lines):
    for line in lines:
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if match and not line.lstrip().startswith("#"):
            name, value = match.groups()
            value = re.sub(r"\s+#.*$", "", value) if value[:1] not in "\"'" else (shlex.split(value) or [""])[0]
            switches = (os.environ.get("MEDIA_CUTOVER_SWITCH"), os.environ.get("MEDIA_CUTOVER_MIRROR_SWITCH"))
            os.environ[name] = value if name in switches else os.environ.get(name, value)
