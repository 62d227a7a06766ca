"""The site's database as a change feed: which files it references that the disk lacks, pass after pass.

The rollback's delta passes (``deploy.media.delta``) must find what the sites on
S3 stored since the previous pass, and a bucket has no "changed since" query.
The site's database knows: every file it can render is a FileField value.  One
Django process under the site's settings stays open on the media host for the
whole run (``manage.py shell -c``, its stdin the request channel): the first
pass reads every reference and stats it on disk, later ones only the rows
added since (by primary key, for models whose key is an integer), so a pass
costs a query and a few stats, not a Django start-up (~1 s under load) and a
scan of every row.  A file a row changed in place (same row, new name) waits
for the final completeness check, which lists the whole bucket.
"""

from __future__ import annotations

import paramiko

from ...engine.run import Run
from ...errors import RemoteError
from ...remote.ssh import close_files
from ..site_python import manage_shell, prelude, program

# Runs inside the site (`manage.py shell -c`) after a prelude MEDIA_ROOT = ...: programs/reference_feed_loop.py.
SCRIPT = program("reference_feed_loop.py")


class ReferenceFeed:
    """One open Django process on the media host answering "what is referenced and not on disk" per pass."""

    def __init__(self, run: Run):
        settings = run.settings
        self.host = settings.media_host
        self.command = manage_shell(settings.host(settings.media_host),
                                    prelude(MEDIA_ROOT=settings.media_root) + SCRIPT)
        self.connection = run.media_connection
        self.channel = self.stdin = self.stdout = self.stderr = None

    def missing_on_disk(self) -> list[str]:
        """The names referenced since the previous pass (all of them the first time) that are not on disk."""
        try:
            if self.channel is None:
                self.connection.open()
                self.stdin, self.stdout, self.stderr = self.connection.client.exec_command(self.command)
                self.channel = self.stdout.channel
            self.stdin.write(b"pass\n")
            self.stdin.flush()
            names = []
            for raw in iter(self.stdout.readline, ""):
                kind, _, value = raw.rstrip("\n").partition("\t")
                if kind == "done":
                    return names
                if kind == "missing":
                    names.append(value)
        except (OSError, paramiko.SSHException) as error:
            raise RemoteError(f"{self.host}: the database's file references: {error}") from None
        detail = self.stderr.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        self.close()
        raise RemoteError(f"{self.host}: listing the database's file references failed: " + " | ".join(detail))

    def close(self) -> None:
        if self.channel is not None:
            close_files(self.stdin, self.stdout, self.stderr)  # not left to __del__ at the interpreter's exit
            self.channel.close()
            self.channel = self.stdin = self.stdout = self.stderr = None
