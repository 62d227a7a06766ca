"""The sandbox's OpenSSH server on a loopback port, and the client side of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..errors import SandboxError
from .layout import SSH_PORT, Layout
from .processes import apt_install, ensure_port_free, port_open, read_pid, run, stop_pid, wait_for

SSHD = Path("/usr/sbin/sshd")


def ensure_openssh_server() -> None:
    """Install Debian's openssh-server when it is missing (we run as root); its own service on
    port 22 is kept from starting."""
    if SSHD.exists():
        return
    apt_install("openssh-server", "/usr/sbin/sshd is missing")


def ensure_keys(layout: Layout) -> None:
    layout.ssh_dir.mkdir(parents=True, exist_ok=True)
    layout.ssh_dir.chmod(0o700)
    for key, comment in ((layout.ssh_dir / "host_ed25519", "sandbox-host"), (layout.client_key, "sandbox-client")):
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])


def write_sshd_config(layout: Layout) -> Path:
    config = layout.ssh_dir / "sshd_config"
    config.write_text(f"""\
# The media-cutover sandbox's sshd: loopback only, keys only.
Port {SSH_PORT}
ListenAddress 127.0.0.1
HostKey {layout.ssh_dir / 'host_ed25519'}
PidFile {layout.sshd_pidfile}
AuthorizedKeysFile .ssh/authorized_keys
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowGroups mcsbx
StrictModes yes
# No AcceptEnv: the tool must not rely on shipping variables (secrets go by file).
Subsystem sftp internal-sftp
LogLevel INFO
""")
    return config


def write_ssh_config(layout: Layout, aliases: tuple[str, ...]) -> None:
    """The client config: `ssh -F .sandbox/ssh_config web1`."""
    known_hosts = layout.ssh_dir / "known_hosts"
    host_key = (layout.ssh_dir / "host_ed25519.pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{SSH_PORT} {host_key[0]} {host_key[1]}\n")
    blocks = [f"""\
Host {alias}
    HostName 127.0.0.1
    Port {SSH_PORT}
    User {layout.account(alias)}
    IdentityFile {layout.client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {known_hosts}
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 10
""" for alias in aliases]
    layout.ssh_config.write_text("\n".join(blocks))


def start(layout: Layout) -> str:
    """Start sshd unless ours already runs; returns 'started' or 'running'."""
    if read_pid(layout.sshd_pidfile) and port_open(SSH_PORT):
        return "running"
    ensure_port_free(SSH_PORT, "the sandbox's sshd")
    config = write_sshd_config(layout)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    log = layout.logs / "sshd.log"
    run([str(SSHD), "-t", "-f", str(config)])
    run([str(SSHD), "-f", str(config), "-E", str(log)])
    wait_for("sshd", lambda: port_open(SSH_PORT), 10, log)
    return "started"


def stop(layout: Layout) -> None:
    stop_pid(read_pid(layout.sshd_pidfile))
    layout.sshd_pidfile.unlink(missing_ok=True)


def check_login(layout: Layout, alias: str) -> str:
    """Log in as the host would be reached; returns the remote user name."""
    result = subprocess.run(["ssh", "-F", str(layout.ssh_config), alias, "id -un"],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise SandboxError(f"ssh -F {layout.ssh_config} {alias} failed: {result.stderr.strip()}")
    return result.stdout.strip()
