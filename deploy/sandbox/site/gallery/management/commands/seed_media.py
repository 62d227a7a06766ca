"""`manage.py seed_media`: fill MEDIA_ROOT with a user-media tree that looks real.

Layout, all under MEDIA_ROOT/user_media/:
  <user id>/thumbs/<name>.jpg   ~70%, 3-20 KB
  <user id>/images/<name>.jpg   ~30%, 30-300 KB, one in a hundred 1-3 MB
  empty/zero-byte.jpg           the one empty file
  shared/linked photo.jpg       the one symlink (relative) to a generated image
With --small every file is 1-4 KB instead (a million files in ~4 GB, for the
scale bench).  Names are often camera-style (IMG_0042.jpg), often phrases with spaces and
non-ASCII letters ("Grüße aus Köln 12.jpg", "東京 7.jpg"). Contents are random
bytes after the JPEG magic. Every file, the symlink included, gets a
StoredFile row (host "seed"). The same --count and --seed give the same tree.
"""
import os
import random
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gallery.models import StoredFile

TREE_NAME = "user_media"
ZERO_BYTE_PATH = f"{TREE_NAME}/empty/zero-byte.jpg"
SYMLINK_PATH = f"{TREE_NAME}/shared/linked photo.jpg"
SPECIAL_FILE_COUNT = 2  # the zero-byte file and the symlink

JPEG_MAGIC = b"\xff\xd8\xff\xe0"
FILE_MODE = 0o664  # both host users share a group and write the media tree
DIR_MODE = 0o2775  # setgid: new entries keep the shared group
BATCH_SIZE = 500
KB = 1024
MB = 1024 * KB

ASCII_PHRASES = [
    "holiday beach", "family dinner", "sunset", "garden party", "office party",
    "birthday cake", "old town", "my dog", "scan",
]
NON_ASCII_PHRASES = [
    "Grüße aus Köln", "café terrace", "東京", "Zürich Hbf", "São Paulo",
    "crème brûlée", "smörgåsbord", "Kraków rynek", "Ærøskøbing", "Москва",
    "Αθήνα", "piñata", "Straße am Fluß",
]


def random_name(rnd):
    """A file name as users' files have them (NFC-composed, `.jpg`)."""
    style = rnd.random()
    if style < 0.4:
        number = rnd.randint(1, 9999)
        return rnd.choice([f"IMG_{number:04d}.jpg", f"DSC0{number:04d}.jpg"])
    phrases = ASCII_PHRASES if style < 0.65 else NON_ASCII_PHRASES
    return f"{rnd.choice(phrases)} {rnd.randint(1, 99)}.jpg"


def random_size(rnd, kind, small=False):
    """Size in bytes of a file of `kind` ("thumbs" or "images")."""
    if small:
        return rnd.randint(1 * KB, 4 * KB)
    if kind == "thumbs":
        return rnd.randint(3 * KB, 20 * KB)
    if rnd.random() < 0.01:
        return rnd.randint(1 * MB, 3 * MB)
    return rnd.randint(30 * KB, 300 * KB)


MAX_USERS = 9_999  # user ids 1-9999: past 100,000 files the folders grow instead


def plan_files(rnd, count, small=False):
    """Map relative path -> size for `count` distinct thumbs and images."""
    user_ids = rnd.sample(range(1, MAX_USERS + 1), k=min(MAX_USERS, max(2, count // 10)))
    planned = {}
    while len(planned) < count:
        # The first file is an image so that the symlink always has a target.
        kind = "images" if not planned or rnd.random() < 0.3 else "thumbs"
        path = f"{TREE_NAME}/{rnd.choice(user_ids)}/{kind}/{random_name(rnd)}"
        if path not in planned:  # a repeated name would overwrite: draw again
            planned[path] = random_size(rnd, kind, small)
    return planned


def write_file(path, data):
    """Write `data` to `path` (a new file), group-writable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as out:
        out.write(data)
    path.chmod(FILE_MODE)


class Command(BaseCommand):
    help = "Generate a deterministic user-media tree under MEDIA_ROOT and register it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--count", type=int, default=200,
            help="files in all, the zero-byte file and the symlink included (>= 3)",
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument("--small", action="store_true", help="every file 1-4 KB (the scale bench's million)")
        parser.add_argument(
            "--force", action="store_true",
            help=f"delete an existing {TREE_NAME}/ and its 'seed' rows, then regenerate",
        )

    def handle(self, *args, count, seed, force, small, **options):
        if count < SPECIAL_FILE_COUNT + 1:
            raise CommandError(f"--count must be at least {SPECIAL_FILE_COUNT + 1}")
        media_root = Path(settings.MEDIA_ROOT)
        tree = media_root / TREE_NAME
        if tree.exists() or tree.is_symlink():
            if not force:
                self.stdout.write(f"{tree} exists already; nothing done (--force regenerates)")
                return
            shutil.rmtree(tree)
            StoredFile.objects.filter(host="seed").delete()

        rnd = random.Random(seed)
        planned = plan_files(rnd, count - SPECIAL_FILE_COUNT, small)
        for relative_path, size in planned.items():
            body = JPEG_MAGIC + rnd.randbytes(size - len(JPEG_MAGIC))
            write_file(media_root / relative_path, body)
        write_file(media_root / ZERO_BYTE_PATH, b"")

        image_paths = [path for path in planned if "/images/" in path]
        link = media_root / SYMLINK_PATH
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(media_root / rnd.choice(image_paths), link.parent))

        for directory, _subdirs, _files in os.walk(tree):
            os.chmod(directory, DIR_MODE)

        names = [*planned, ZERO_BYTE_PATH, SYMLINK_PATH]
        with transaction.atomic():
            StoredFile.objects.bulk_create(
                (StoredFile(file=name, host="seed") for name in names), batch_size=BATCH_SIZE
            )
        total_bytes = sum(planned.values())
        self.stdout.write(
            f"seeded {len(names)} files ({total_bytes} bytes; 1 empty, 1 symlink) in {tree}"
        )
