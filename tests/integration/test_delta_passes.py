"""A delta pass costs what changed, not the tree: measured on web1, a 2,000-file tree against a 20,000-file one.

Each tree gets the same 10 new files after the previous pass's mark; the pass
(``deploy.media.delta.upload_changed``: the host's stat walk, then rclone on
exactly that list) must upload those 10 and nothing else, and its time on the
big tree may be at most a few times its time on the small one.  The ratio is
measured and reported, not a bound on seconds: a pass that compared or copied
the whole tree (as every pass did before) costs ten times as much on ten times
the files.
"""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest

from deploy.engine.journal import Journal
from deploy.engine.run import Options, Run
from deploy.media import delta, manifest
from deploy.media.passes import Passes
from deploy.store.client import s3_client
from deploy.sync.install import install_sync_tool

pytestmark = pytest.mark.slow

SMALL, BIG, CHANGED, ROUNDS = 2_000, 20_000, 10, 3
MAKE = ("python3 -c 'import os, sys\n"
        "root, count, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
        "for number in range(first, first + count):\n"
        "    directory = os.path.join(root, \"d%03d\" % (number % 200))\n"
        "    os.makedirs(directory, exist_ok=True)\n"
        "    open(os.path.join(directory, \"f%06d.jpg\" % number), \"wb\").write(b\"x\")' ")


@pytest.fixture(scope="module")
def trees(sandbox):
    tag = uuid.uuid4().hex[:8]
    base = f"~/delta-{tag}"
    sandbox.ssh("web1", f"{MAKE} {base}/small {SMALL} 0 && {MAKE} {base}/big {BIG} 0")
    yield tag, base
    sandbox.ssh("web1", f"rm -rf {base}")
    admin = sandbox.admin()
    client = s3_client(admin)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=admin.bucket, Prefix=f"test-delta-{tag}/"):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=admin.bucket, Key=item["Key"])


def test_a_pass_on_ten_times_the_files_costs_a_few_times_as_much_and_copies_only_what_changed(
        sandbox, trees, tmp_path, capsys):
    tag, base = trees
    timings, client = {}, None
    for name, size in (("small", SMALL), ("big", BIG)):
        settings = dataclasses.replace(sandbox.admin(), media_root=f"{base}/{name}",
                                       media_prefix=f"test-delta-{tag}/{name}")
        client = s3_client(settings)
        run = Run(settings, Options(), Journal(tmp_path, f"delta-{name}", "sandbox", "test"), say=lambda line: None,
                  run_id=f"delta-{name}-{tag}", state=Passes())
        try:
            install_sync_tool(run.media_connection, settings)
            # "the previous pass" began just after the trees were made: they are not new, what comes next is
            run.state.disk_mark = float(manifest.host_clock(run)) + 1 + delta.MARGIN
            time.sleep(2)
            seconds = []
            for round_number in range(ROUNDS):
                first = size + round_number * CHANGED
                sandbox.ssh("web1", f"{MAKE} {base}/{name} {CHANGED} {first}")
                began = time.monotonic()
                summary = delta.upload_changed(run, run.state)
                seconds.append(time.monotonic() - began)
                # the margin lists the previous round's files again too; they are there already
                assert f"changed on disk, {CHANGED} uploaded" in summary, summary
        finally:
            run.close()
        keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=settings.bucket, Prefix=settings.media_prefix + "/") for item in page.get("Contents", [])]
        assert len(keys) == ROUNDS * CHANGED  # only the new files: the tree itself was never copied
        timings[name] = min(seconds)
    ratio = timings["big"] / timings["small"]
    with capsys.disabled():
        print(f"\n    delta pass, {CHANGED} changed files: {SMALL:,} files {timings['small']:.2f} s, "
              f"{BIG:,} files {timings['big']:.2f} s, ratio {ratio:.2f} (10x the files)")
    assert ratio < 3, f"a pass on {BIG:,} files took {ratio:.1f} times one on {SMALL:,}: it grows with the tree"
