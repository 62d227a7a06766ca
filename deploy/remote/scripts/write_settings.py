"""Atomically replace a settings file on the host it lives on (stdlib only).

The cutover uploads this file and runs it with the host's ``python3``::

    python3 write_settings.py [--format=python|env] SETTINGS_PATH EXPECTED_SHA256 BACKUP_PATH  < new content
    python3 write_settings.py --restore BACKUP_PATH SETTINGS_PATH

Write mode refuses if the file no longer hashes to EXPECTED_SHA256 (someone
edited it since we read it), if its user may not write it (a read-only file),
or, for a Python settings file (``--format=python``, the default), if the new
content does not compile; an env file (``--format=env``) is not compiled.  It
keeps a copy at BACKUP_PATH ("-" for none; an existing backup is never
overwritten) with the file's mode and owner, then swaps the new bytes in with
temp file + fsync + rename, keeping mode and owner (an env file holding
secrets stays 600, and so is its backup).  Restore mode swaps the backup's
bytes back the same way and keeps the backup.  On success one JSON line goes
to stdout; errors go to stderr.

Exit codes: 0 done (changed or not), 1 I/O error, 2 usage, 3 file changed
since read, 4 new content does not compile, 5 backup already exists,
6 owner/group cannot be preserved, 7 the file is read-only for this user.
Nothing is changed unless the exit is 0 (a backup written before a later
failure is left in place).
"""

import errno
import hashlib
import json
import os
import sys

EXIT_IO, EXIT_USAGE, EXIT_CHANGED, EXIT_SYNTAX, EXIT_BACKUP_EXISTS, EXIT_OWNER, EXIT_READONLY = 1, 2, 3, 4, 5, 6, 7
FORMATS = ("python", "env")
USAGE = ("usage: write_settings.py [--format=python|env] SETTINGS_PATH EXPECTED_SHA256 BACKUP_PATH"
         "  (new content on stdin)\n"
         "       write_settings.py --restore BACKUP_PATH SETTINGS_PATH")


class Refused(Exception):
    """Stop with this message and exit code; the settings file was not changed."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def is_sha256(text):
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def read_bytes(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise Refused(EXIT_IO, "cannot read %s %s: %s" % (what, path, exc.strerror or exc))


def write_new(settings_path, expected_sha, backup_path, new, file_format="python"):
    """Write mode: check, back up, swap in ``new``; return the JSON result."""
    target = os.path.realpath(settings_path)  # replace the file, not a symlink to it
    current = read_bytes(target, "settings file")
    if sha256(current) != expected_sha.lower():
        raise Refused(EXIT_CHANGED, "settings file changed since it was read; re-run: %s" % settings_path)
    if new == current:
        return {"changed": False, "path": target, "sha256": sha256(current)}
    if not os.access(target, os.W_OK):
        # The rename would get past it: a file made read-only stays as its owner left it.
        raise Refused(EXIT_READONLY, "settings file is read-only for uid %d (mode %04o), not replacing it: %s"
                      % (os.geteuid(), os.stat(target).st_mode & 0o7777, settings_path))
    if file_format == "python":
        try:
            compile(new, settings_path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            raise Refused(EXIT_SYNTAX, "new content for %s does not compile: %s" % (settings_path, exc))
    st = os.stat(target)
    if backup_path != "-":
        write_backup(backup_path, current, st)
    replace_atomically(target, new, st, expected_sha=sha256(current))
    return {"changed": True, "path": target, "backup": None if backup_path == "-" else backup_path,
            "sha256_before": sha256(current), "sha256_after": sha256(new)}


def restore(backup_path, settings_path):
    """Restore mode: put the backup's bytes back; the backup is kept."""
    target = os.path.realpath(settings_path)
    saved = read_bytes(backup_path, "backup")
    try:
        current, st = read_bytes(target, "settings file"), os.stat(target)
    except Refused:
        if os.path.lexists(target):
            raise
        current, st = None, os.stat(backup_path)  # the file is gone: restore it as backed up
    result = {"path": target, "restored_from": backup_path, "sha256_after": sha256(saved),
              "sha256_before": None if current is None else sha256(current)}
    if current == saved:
        return dict(result, changed=False)
    replace_atomically(target, saved, st, expected_sha=result["sha256_before"])
    return dict(result, changed=True)


def write_backup(backup_path, data, st):
    try:
        fd = os.open(backup_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Refused(EXIT_BACKUP_EXISTS, "backup already exists, not overwriting it: %s" % backup_path)
    except OSError as exc:
        raise Refused(EXIT_IO, "cannot create backup %s: %s" % (backup_path, exc.strerror or exc))
    try:
        write_synced(fd, data, st)
    except BaseException:
        os.close(fd)
        os.unlink(backup_path)  # a partial backup is worse than none
        raise
    os.close(fd)
    fsync_dir(os.path.dirname(os.path.abspath(backup_path)))


def replace_atomically(target, data, st, expected_sha):
    """Write ``data`` beside ``target`` and rename it over; the temp never survives a failure."""
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, ".%s.media-cutover.tmp.%d" % (name, os.getpid()))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise Refused(EXIT_IO, "cannot create temp file %s: %s" % (tmp, exc.strerror or exc))
    try:
        try:
            write_synced(fd, data, st)
        finally:
            os.close(fd)
        # Re-check just before the swap to shrink the window for a concurrent edit.
        if expected_sha is not None and os.path.exists(target):
            if sha256(read_bytes(target, "settings file")) != expected_sha:
                raise Refused(EXIT_CHANGED, "settings file changed since it was read; re-run: %s" % target)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def write_synced(fd, data, st):
    """Write all of ``data``, copy mode and owner from ``st``, fsync."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    keep_owner(fd, st)
    os.fchmod(fd, st.st_mode & 0o7777)  # after chown, which may clear setuid/setgid bits
    os.fsync(fd)


def keep_owner(fd, st):
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) == (st.st_uid, st.st_gid):
        return
    try:
        os.fchown(fd, st.st_uid, st.st_gid)
    except PermissionError:
        # Never leave a file the web server may no longer be able to read.
        raise Refused(EXIT_OWNER, "cannot keep owner %d:%d (running as uid %d); run as the file's "
                      "owner with its group, or as root" % (st.st_uid, st.st_gid, os.geteuid()))


def fsync_dir(directory):
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some filesystems cannot fsync a directory
            raise
    finally:
        os.close(fd)


def write_args(argv):
    """(format, [path, sha256, backup]) of a write mode's arguments, or None when they are not one."""
    file_format = "python"
    if argv and argv[0].startswith("--format="):
        file_format, argv = argv[0][len("--format="):], argv[1:]
        if file_format not in FORMATS:
            return None
    if len(argv) == 3 and not argv[0].startswith("-") and is_sha256(argv[1]):
        return file_format, argv
    return None


def main(argv, stdin_bytes=None):
    """Run one mode; ``argv`` excludes the program name. Returns the exit code."""
    try:
        if len(argv) == 3 and argv[0] == "--restore":
            result = restore(os.path.expanduser(argv[1]), os.path.expanduser(argv[2]))
        elif write_args(argv) is not None:
            file_format, (path, expected, backup) = write_args(argv)
            if stdin_bytes is None:
                stdin_bytes = sys.stdin.buffer.read()
            backup = backup if backup == "-" else os.path.expanduser(backup)
            result = write_new(os.path.expanduser(path), expected, backup, stdin_bytes, file_format)
        else:
            sys.stderr.write(USAGE + "\n")
            return EXIT_USAGE
    except Refused as exc:
        sys.stderr.write("write_settings: %s\n" % exc)
        return exc.code
    except OSError as exc:
        sys.stderr.write("write_settings: %s\n" % exc)
        return EXIT_IO
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
