"""`manage.py seed_thumbs`: photos (real JPEGs) through the default storage, and their thumbnails made on disk.

What a site that ran a while has: each photo a StoredFile row (host "thumbs"), its easy_thumbnails
("small", "large") and sorl-thumbnail (the pages' two geometries) made already, with their rows.
Nothing is done when the photos exist (`invoke sandbox.reset --shape=thumbs` starts the shape afresh).
"""
import io
import random

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand

from gallery.models import StoredFile

PHOTOS = "thumbs"
FOLDER = "photos"


class Command(BaseCommand):
    help = "Seed photos and make their thumbnails, as the pages render them."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=12, help="photos (default 12)")

    def handle(self, *args, count, **options):
        from easy_thumbnails.files import get_thumbnailer
        from PIL import Image
        from sorl.thumbnail import get_thumbnail

        if StoredFile.objects.filter(host=PHOTOS).exists():
            self.stdout.write("photos seeded already; nothing done")
            return
        rnd = random.Random(12)
        names = []
        for number in range(count):
            data = io.BytesIO()
            colour = tuple(rnd.randrange(256) for _ in range(3))
            Image.new("RGB", (320 + 8 * number, 240), colour).save(data, "JPEG", quality=80)
            name = default_storage.save(f"{FOLDER}/photo {number:02d}.jpg", ContentFile(data.getvalue()))
            names.append(StoredFile.objects.create(file=name, host=PHOTOS).file)
        for photo in names:
            for alias in ("small", "large"):
                get_thumbnailer(photo)[alias]
            for geometry, options in settings.SORL_GEOMETRIES:
                get_thumbnail(photo, geometry, **options)
        self.stdout.write(f"seeded {count} photos under {FOLDER}/, with {2 * count} easy_thumbnails and "
                          f"{2 * count} sorl-thumbnail thumbnails made on disk")
