"""`manage.py seed_content --rows N --site-url URL`: the seeded articles, exactly as gallery/content_plan.py plans.

The articles whose slug starts with "seed-" are the sandbox's: after this command they are exactly the
planned ``--rows`` (over the seeded files that `seed_media` made), whatever a rewrite or an earlier
``--rows`` left; other articles stay.  Already so: nothing is written.  Otherwise the seed articles are
deleted and created again in batches (100,000 rows in well under a minute on SQLite).
"""
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gallery.content_plan import SLUG_PREFIX, articles, expected_counts
from gallery.management.commands.seed_media import SYMLINK_PATH, ZERO_BYTE_PATH
from gallery.models import Article, StoredFile

BATCH_SIZE = 2000
MARKER = "SEEDED-CONTENT "  # its last line: what was seeded, as JSON (deploy.sandbox.seeded_content reads it)


def seeded_files():
    """The seeded files content may name: StoredFile rows of host "seed" by id, the empty file and the
    symlink left out."""
    names = StoredFile.objects.filter(host="seed").order_by("id").values_list("file", flat=True)
    return [name for name in names.iterator(chunk_size=BATCH_SIZE) if name not in (ZERO_BYTE_PATH, SYMLINK_PATH)]


class Command(BaseCommand):
    help = "Make the seeded articles (rich text and JSON holding media URLs) exactly as planned."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, required=True, help="seeded articles wanted (0: none)")
        parser.add_argument("--site-url", required=True,
                            help="the site's address as the content's absolute URLs name it (http://host:port)")
        parser.add_argument("--media-url", default="/media/", help="the disk MEDIA_URL the content was written under")

    def handle(self, *args, rows, site_url, media_url, **options):
        if rows < 0:
            raise CommandError("--rows must be 0 or more")
        files = seeded_files()
        if rows and not files:
            raise CommandError("no seeded files to name: run seed_media first")
        planned = articles(rows, files, site_url, media_url)
        seed = Article.objects.filter(slug__startswith=SLUG_PREFIX)
        counts = expected_counts(rows, len(files))
        summary = (f"{rows} articles holding {counts.urls} media URLs (body {counts.body_urls}: "
                   f"{counts.body_relative} relative, {counts.body_absolute} absolute; data {counts.data_urls}: "
                   f"{counts.data_relative} relative, {counts.data_absolute} absolute) naming {counts.names} files")
        said = {"rows": rows, "files": len(files), "site_url": site_url, "media_url": media_url,
                "counts": counts.as_dict()}
        if self._as_planned(seed, articles(rows, files, site_url, media_url), rows):
            self.stdout.write(f"content: {summary}, as planned already")
            self.stdout.write(MARKER + json.dumps(said))
            return
        with transaction.atomic():
            seed.delete()
            batch = []
            for row in planned:
                batch.append(Article(slug=row.slug, title=row.title, cover=row.cover, body=row.body, data=row.data))
                if len(batch) == BATCH_SIZE:
                    Article.objects.bulk_create(batch)
                    batch = []
            Article.objects.bulk_create(batch)
        self.stdout.write(f"content: seeded {summary}")
        self.stdout.write(MARKER + json.dumps(said))

    @staticmethod
    def _as_planned(seed, planned, rows):
        if seed.count() != rows:
            return False
        found = seed.order_by("slug").values_list("slug", "title", "cover", "body", "data")
        for (slug, title, cover, body, data), row in zip(found.iterator(chunk_size=BATCH_SIZE), planned):
            if (slug, title, cover, body, data) != (row.slug, row.title, row.cover, row.body, row.data):
                return False
        return True
