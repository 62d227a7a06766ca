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
from ..site_python import manage_shell

SCRIPT = """
import os, sys
from django.apps import apps
from django.db import models
root = os.path.expanduser({media_root!r})
fields = [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
          if isinstance(field, models.FileField)]
marks = {{}}
for request in sys.stdin:
    missing = 0
    for model, field in fields:
        rows = model._default_manager.exclude(**{{field.name: ""}}).exclude(**{{field.name + "__isnull": True}})
        ordered = isinstance(model._meta.pk, (models.AutoField, models.BigAutoField, models.IntegerField))
        key = (model._meta.label, field.name)
        if ordered and key in marks:
            rows = rows.filter(pk__gt=marks[key])
        for pk, name in rows.values_list("pk", field.name).iterator():
            if ordered and (key not in marks or pk > marks[key]):
                marks[key] = pk
            if not os.path.isfile(os.path.join(root, name)):
                missing += 1
                sys.stdout.write("missing\\t" + name.replace("\\n", " ") + "\\n")
        if ordered:
            marks.setdefault(key, 0)
    sys.stdout.write("done\\t%d\\n" % missing)
    sys.stdout.flush()
"""


class ReferenceFeed:
    """One open Django process on the media host answering "what is referenced and not on disk" per pass."""

    def __init__(self, run: Run):
        settings = run.settings
        self.host = settings.media_host
        self.command = manage_shell(settings.host(settings.media_host), SCRIPT.format(media_root=settings.media_root))
        self.connection = run.media_connection
        self.channel = self.stdin = self.stdout = None

    def missing_on_disk(self) -> list[str]:
        """The names referenced since the previous pass (all of them the first time) that are not on disk."""
        try:
            if self.channel is None:
                self.connection.open()
                self.stdin, self.stdout, stderr = self.connection.client.exec_command(self.command)
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
        detail = self.channel.makefile_stderr("r").read().decode("utf-8", "replace").strip().splitlines()[-3:]
        self.close()
        raise RemoteError(f"{self.host}: listing the database's file references failed: " + " | ".join(detail))

    def close(self) -> None:
        if self.channel is not None:
            self.stdin.close()
            self.channel.close()
            self.channel = None
