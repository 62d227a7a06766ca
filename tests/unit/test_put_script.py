"""deploy.remote.ssh.put_script: a script under TOOLS_DIR/lib by its content's hash, uploaded once.

The connection is a fake: its run records the commands, its SFTP is a dict.
"""

import hashlib
from types import SimpleNamespace

from deploy.remote import ssh


class FakeSftp:
    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def stat(self, path: str):
        if path not in self.files:
            raise FileNotFoundError(path)

    def open(self, path: str, mode: str):
        files = self.files

        class Handle:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def write(self, data: bytes):
                files[path] = data
        return Handle()

    def posix_rename(self, old: str, new: str):
        self.files[new] = self.files.pop(old)


def fake_connection(monkeypatch):
    commands, files = [], {}
    monkeypatch.setattr(ssh, "run", lambda connection, command, what, timeout=None: commands.append(command) or "")
    return SimpleNamespace(sftp=lambda: FakeSftp(files)), commands, files


def test_a_project_script_goes_to_tools_dir_lib_once(monkeypatch):
    connection, commands, files = fake_connection(monkeypatch)
    content = (ssh.SCRIPTS / "media_manifest.py").read_bytes()
    remote = ssh.put_script(connection, "~/.media-cutover/", "media_manifest.py")
    assert remote == f"~/.media-cutover/lib/media_manifest-{hashlib.sha256(content).hexdigest()[:10]}.py"
    assert files == {remote[2:]: content}
    assert commands == ['mkdir -p "$HOME"/.media-cutover/lib && chmod 700 "$HOME"/.media-cutover/']
    assert ssh.put_script(connection, "~/.media-cutover", "media_manifest.py") == remote
    assert files == {remote[2:]: content}


def test_a_script_of_another_folder_is_uploaded_the_same_way(monkeypatch, tmp_path):
    """The benchmark's make_tree.py (bench/remote/) goes through the same function."""
    connection, commands, files = fake_connection(monkeypatch)
    content = b"print('a tree')\n"
    (tmp_path / "make_tree.py").write_bytes(content)
    remote = ssh.put_script(connection, "~/bench-tools", "make_tree.py", tmp_path)
    assert remote == f"~/bench-tools/lib/make_tree-{hashlib.sha256(content).hexdigest()[:10]}.py"
    assert files == {remote[2:]: content}
    assert commands == ['mkdir -p "$HOME"/bench-tools/lib && chmod 700 "$HOME"/bench-tools']
