"""Reader for site.env, the KEY=value file the sandbox writes beside the site.

Kept free of Django imports so gunicorn.conf.py can use it in the master.
"""
from pathlib import Path

SITE_ENV_PATH = Path(__file__).resolve().parent.parent / "site.env"


def read_env_file(path=SITE_ENV_PATH):
    """Return the KEY=value pairs of `path` as a dict ({} if it is missing).

    Blank lines and lines starting with `#` are skipped; a ` #` after a value
    starts a comment. A `#` with no space before it stays in the value, since
    generated secrets may contain one. Values are not unquoted.
    """
    path = Path(path)
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        for comment_start in (" #", "\t#"):
            value = value.split(comment_start, 1)[0]
        values[key.strip()] = value.strip()
    return values
