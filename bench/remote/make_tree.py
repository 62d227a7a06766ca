"""Make a benchmark media tree, deterministically (stdlib only; runs on the media host).

    python3 make_tree.py --shape photos|thumbs|small --files N --seed S [--extra-percent P --base DIR] ROOT

Writes N files of random (incompressible, like JPEG) bytes under ROOT, laid out
as ``<kind>/<year>/<month>/<name>.jpg`` (``small``: 1-4 KB files, a directory a day,
``small/<year>/<month>/<day>/``, as the passes' 100,000- and 1,000,000-file trees
need: ~900 files a directory at a million); the same arguments give the same names,
sizes and bytes.  With ``--base DIR`` ROOT becomes a hard-linked copy of DIR
plus P percent new files (the "delta" tree: same sizes and times for the old
files, so every tool sees them as already uploaded).  Prints ``<files>\\t<bytes>``
of ROOT.  A tree is built as ROOT.part and renamed at the end, so an existing
ROOT is complete: it is kept and only counted (trees are reused across runs).
"""

import argparse
import os
import random
import shutil
import sys

SIZES = {"photos": (16 * 1024, 64 * 1024),    # ~40 KB on average: 4,000 files ~ 160 MB
         "thumbs": (5 * 1024, 20 * 1024),      # 5-20 KB thumbnails
         "small": (1024, 4 * 1024)}            # 1-4 KB: a million of them fit (~2.5 GB, ~4 GB on disk)
YEARS = (2023, 2024, 2025)


def layout(shape, index, files, tag=""):
    """A file's relative path: spread over years and months like an upload_to date path."""
    if shape == "small":   # a directory a day (upload_to="%Y/%m/%d"), 3 x 12 x 31 of them
        slot = index * len(YEARS) * 372 // max(files, 1)
        year, day = YEARS[slot // 372 % len(YEARS)], slot % 372
        return "%s/%d/%02d/%02d/IMG_%s%07d.jpg" % (shape, year, day // 31 + 1, day % 31 + 1, tag, index)
    slot = index * len(YEARS) * 12 // max(files, 1)
    year, month = YEARS[slot // 12 % len(YEARS)], slot % 12 + 1
    suffix = "_200x200" if shape == "thumbs" else ""
    return "%s/%d/%02d/IMG_%s%06d%s.jpg" % (shape, year, month, tag, index, suffix)


def write_files(root, shape, count, rng, tag=""):
    low, high = SIZES[shape]
    for index in range(count):
        path = os.path.join(root, layout(shape, index, count, tag))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(rng.randbytes(rng.randint(low, high)))


def totals(root):
    files = size = 0
    for directory, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(directory, name))
    return files, size


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=sorted(SIZES), required=True)
    parser.add_argument("--files", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--base")
    parser.add_argument("--extra-percent", type=float, default=1.0)
    parser.add_argument("root")
    args = parser.parse_args(argv)
    if os.path.isdir(args.root):
        print("%d\t%d" % totals(args.root))
        return 0
    part = args.root.rstrip("/") + ".part"
    shutil.rmtree(part, ignore_errors=True)
    if args.base:
        shutil.copytree(args.base, part, copy_function=os.link)
        extra = max(1, int(round(args.files * args.extra_percent / 100)))
        write_files(part, args.shape, extra, random.Random(args.seed + 1), tag="new")
    else:
        os.makedirs(part)
        write_files(part, args.shape, args.files, random.Random(args.seed))
    os.rename(part, args.root)
    print("%d\t%d" % totals(args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
