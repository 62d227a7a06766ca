"""One Unix account per sandbox host, so each host has files of its own."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from ..errors import SandboxError
from .layout import GROUP, Layout
from .processes import run


def ensure_group() -> int:
    try:
        return grp.getgrnam(GROUP).gr_gid
    except KeyError:
        run(["groupadd", "--system", GROUP])
        return grp.getgrnam(GROUP).gr_gid


def ensure_account(layout: Layout, alias: str) -> pwd.struct_passwd:
    """Create (or re-point) the host's account and its home under .sandbox/hosts."""
    user, home = layout.account(alias), layout.home(alias)
    home.mkdir(parents=True, exist_ok=True)
    try:
        pwd.getpwnam(user)
        run(["usermod", "--home", str(home), "--gid", GROUP, "--shell", "/bin/sh", user])
    except KeyError:
        run(["useradd", "--no-create-home", "--home-dir", str(home), "--gid", GROUP,
             "--shell", "/bin/sh", user])
    # sshd without PAM refuses a locked password ("!"); "*" allows key logins only.
    run(["usermod", "-p", "*", user])
    account = pwd.getpwnam(user)
    os.chown(home, account.pw_uid, account.pw_gid)
    home.chmod(0o700)
    return account


def authorize_key(layout: Layout, account: pwd.struct_passwd) -> None:
    ssh_dir = Path(account.pw_dir) / ".ssh"
    ssh_dir.mkdir(exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(Path(str(layout.client_key) + ".pub").read_text())
    for path, mode in ((ssh_dir, 0o700), (keys, 0o600)):
        os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(mode)


def as_user(account: pwd.struct_passwd, command: str, timeout: float = 600,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run a shell command as the host's user, in its home, with its HOME."""
    result = subprocess.run(
        ["runuser", "-u", account.pw_name, "--", "env", "-i", f"HOME={account.pw_dir}",
         f"USER={account.pw_name}", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
         "sh", "-c", f"umask 002 && cd && {command}"],
        capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-6:])
        raise SandboxError(f"as {account.pw_name}: `{command[:60]}` failed ({result.returncode}): {tail}")
    return result


def kill_processes(layout: Layout, alias: str) -> None:
    """Whatever the host's account still runs (site, stray sync tools)."""
    user = layout.account(alias)
    try:
        pwd.getpwnam(user)
    except KeyError:
        return
    subprocess.run(["pkill", "-TERM", "-u", user], capture_output=True)
    for _ in range(50):
        if subprocess.run(["pgrep", "-u", user], capture_output=True).returncode != 0:
            return
        subprocess.run(["sleep", "0.2"])
    subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)


def owned_tree(path: Path, account: pwd.struct_passwd) -> None:
    """chown -R to the host's user (site code copied in as root)."""
    shutil.chown(path, account.pw_name, GROUP)
    for parent, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), account.pw_uid, account.pw_gid)
