"""Where the sandbox keeps its state, and the fixed loopback ports it uses.

Everything lives under ``.sandbox/`` in the project.  Host accounts get their
homes in ``.sandbox/hosts/<alias>`` so that each "host" has files of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

HOST_ALIASES = ("web1", "web2")
ACCOUNT_PREFIX = "mcsbx-"
GROUP = "mcsbx"
SSH_PORT = 18022
# SeaweedFS opens many ports; pin them all to one block so a fresh machine
# (and CI) always finds them free.  Its gRPC ports are these + 10000.
WEED_PORTS = {"master.port": 18933, "volume.port": 18980, "filer.port": 18988,
              "s3.port": 18333, "admin.port": 18646, "s3.port.iceberg": 18181}
SITE_PYTHON_PACKAGES = ("Django>=5.2,<6", "django-storages[s3]>=1.14.4,<2",
                        "gunicorn>=23,<28", "boto3>=1.36,<2",
                        # shape "envfile" reads its .env the way cookiecutter-style sites do
                        "django-environ>=0.11,<1",
                        # shape "thumbs": the thumbnail libraries issue 12 measured
                        "easy-thumbnails==2.10.1", "sorl-thumbnail==13.4.0", "Pillow>=10,<13")

# The extra site shapes (deploy/sandbox/shapes/), each on every host beside the site of
# shape (a): its gunicorn's port per host, and for "package" the port of its nginx front end.
SHAPES = ("package", "envfile", "recipe", "thumbs", "staticmedia", "private", "cdn")
SHAPE_GUNICORN_PORTS = {"package": {"web1": 18111, "web2": 18112},
                        "envfile": {"web1": 18121, "web2": 18122},
                        "recipe": {"web1": 18131, "web2": 18132},
                        "thumbs": {"web1": 18141, "web2": 18142},
                        "staticmedia": {"web1": 18151, "web2": 18152},
                        "private": {"web1": 18161, "web2": 18162},
                        "cdn": {"web1": 18171, "web2": 18172}}
FRONT_END_PORTS = {"web1": 18201, "web2": 18202}
# Shape "cdn"'s stand-in for a CDN (deploy/sandbox/cdn.py): nginx proxying to its bucket, with a cache; and a
# second server of it whose origin is another bucket (a misconfigured domain).
CDN_PORT = 18190
WRONG_ORIGIN_PORT = 18191
# The fault proxy in front of the store (`invoke sandbox.up --faults=...`, deploy/sandbox/store_faults.py).
FAULT_PROXY_PORT = 18334


@dataclass(frozen=True)
class Layout:
    project_root: Path

    @property
    def root(self) -> Path:
        # Resolved: .sandbox may link to a place the host accounts can reach (ensure_root).
        return (self.project_root / ".sandbox").resolve()

    def ensure_root(self) -> None:
        """Make .sandbox/, or, when other users cannot reach the project (a clone in a
        mode-700 directory), a directory under /var/tmp that .sandbox links to."""
        link = self.project_root / ".sandbox"
        if link.exists():
            return
        if traversable_by_others(self.project_root):
            link.mkdir()
            return
        digest = hashlib.sha256(str(self.project_root).encode()).hexdigest()[:12]
        outside = Path("/var/tmp/media-cutover-sandbox") / digest
        outside.mkdir(parents=True, exist_ok=True)
        outside.parent.chmod(0o755)
        link.symlink_to(outside)

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def sshd_pidfile(self) -> Path:
        return self.root / "sshd.pid"

    @property
    def weed_dir(self) -> Path:
        return self.root / "seaweedfs"

    @property
    def weed_pidfile(self) -> Path:
        return self.root / "seaweedfs.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def site_venv(self) -> Path:
        return self.root / "site-venv"

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def shared_media(self) -> Path:
        return self.shared / "media"

    @property
    def database(self) -> Path:
        return self.shared / "db" / "site.sqlite3"

    def shape_data(self, name: str) -> Path:
        """A shape's own media and database (shape "thumbs"), shared by both hosts like the default site's."""
        return self.shared / "shapes" / name

    def shape_media(self, name: str) -> Path:
        return self.shape_data(name) / "media"

    def shape_database(self, name: str) -> Path:
        return self.shape_data(name) / "db" / "site.sqlite3"

    @property
    def hosts_dir(self) -> Path:
        return self.root / "hosts"

    @property
    def admin_env(self) -> Path:
        """The S3 store's admin keys (mode 600): what `invoke provision` is given as admin."""
        return self.root / "s3-admin.env"

    @property
    def state_file(self) -> Path:
        return self.root / "sandbox.json"

    def home(self, alias: str) -> Path:
        return self.hosts_dir / alias

    def shape_dir(self, alias: str, shape: str) -> Path:
        """An extra site shape's project on a host: ~/shapes/<shape> (its run/ and logs/ inside)."""
        return self.home(alias) / "shapes" / shape

    def web_root(self, alias: str) -> Path:
        """The host's public web root, as /var/www is: files its nginx serves (homes are mode 700)."""
        return self.root / "www" / alias

    @property
    def nginx_dir(self) -> Path:
        """The sandbox's own nginx: prefix, config, pid, logs, temp files."""
        return self.root / "nginx"

    @property
    def nginx_pidfile(self) -> Path:
        return self.nginx_dir / "nginx.pid"

    @property
    def cdn_dir(self) -> Path:
        """Shape "cdn"'s stand-in CDN, an nginx master of its own: prefix, config, pid, logs, its cache."""
        return self.root / "cdn"

    @property
    def cdn_pidfile(self) -> Path:
        return self.cdn_dir / "nginx.pid"

    @staticmethod
    def account(alias: str) -> str:
        return ACCOUNT_PREFIX + alias

    def write_state(self, state: dict) -> None:
        # Atomic: test sessions of other modules read it while an `up` writes it.
        temporary = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(temporary, self.state_file)

    def read_state(self) -> dict | None:
        if not self.state_file.is_file():
            return None
        return json.loads(self.state_file.read_text())


def traversable_by_others(path: Path) -> bool:
    """True if other users can reach ``path`` (every parent has o+x)."""
    for parent in [path, *path.parents]:
        if parent.exists() and not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    return True
