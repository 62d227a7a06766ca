"""A store that stumbles does not abort the cutover: `invoke cutover` and `fab rollback` through the sandbox's fault
proxy (`invoke sandbox.up --faults=503:0.05,reset:0.03`: 5 % of the tool's requests answered 503 SlowDown with
S3's XML, 3 % reset mid-response), ten of each, alternating, on the sandbox's usual tree; and a store that
answers nothing but 503 fails the cutover within the configured limit, every host as it was.

Why ten in a row cannot flake: a request fails for good only if all of its STORE_RETRY_ATTEMPTS=8 tries meet
a fault, 0.08^8 = 1.7e-9 at these rates; a run makes a few thousand requests (the 400-file tree's listings,
HEADs and PUTs, the probe, the health check's GETs), twenty runs under 100,000, so the chance that any
request of the whole test fails is below 2e-4.  rclone's single-part PUTs, which it cannot retry itself,
are sent again by list up to the same 8 attempts: the same 0.08^8 a file.

Only the first cutover uploads the tree; every later one finds it in the bucket (the rollback deletes
nothing), so each run is a real `invoke cutover` / `fab rollback` at its cheapest: preflight, a no-op copy,
the flip, the reload, the health check, the final verify (about 10-15 s each here).  STORE_FAULT_RUNS
(default 10) sets how many of each.

Independent checks read the store directly (127.0.0.1:18333, with the admin key), not through the proxy.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from deploy.engine.counts import RetryCounts
from deploy.engine.events import StepFinished
from deploy.engine.journal import read_entries
from deploy.store.client import s3_client

from .conftest import TEST_MEDIA_FILES
from .sandbox_client import Sandbox, http_json, invoke, reset, upload
from .test_cutover import media_files
from .test_rollback import fab

pytestmark = pytest.mark.slow

FAULTS = "503:0.05,reset:0.03"
RUNS = int(os.environ.get("STORE_FAULT_RUNS", "10"))
FAULTS_ENV = "sandbox-faults"


@pytest.fixture(scope="module")
def faulty(sandbox, project_root):
    """The sandbox on disk with an empty prefix, the fault proxy in front of its store (the default site through
    it too); afterwards no proxy, the site on the store itself, reset."""
    reset(project_root)
    up = invoke(project_root, "sandbox.up", f"--media-files={TEST_MEDIA_FILES}", f"--faults={FAULTS}")
    assert "--env=sandbox-faults" in up.stdout
    state = Sandbox.load(project_root)
    assert state.state["faults"]["rates"] == FAULTS
    try:
        yield state
    finally:
        invoke(project_root, "sandbox.up", f"--media-files={TEST_MEDIA_FILES}")   # faults off
        reset(project_root)


def store_objects(sandbox: Sandbox) -> dict[str, int]:
    """key -> size of every object under the media prefix, listed by the admin key at the store itself."""
    admin = sandbox.admin()
    assert admin.endpoint_url == sandbox.state["s3"]["endpoint"] != sandbox.state["faults"]["endpoint"]
    client, objects = s3_client(admin), {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=admin.bucket, Prefix=admin.media_prefix + "/"):
        objects.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return objects


def assert_bucket_holds_every_file(sandbox: Sandbox) -> None:
    objects = store_objects(sandbox)
    missing = {name: size for name, size in media_files(sandbox).items() if objects.get(f"media/{name}") != size}
    assert not missing, f"{len(missing)} files not in the bucket with their size, e.g. {list(missing)[:3]}"


def assert_disk_holds_every_object(sandbox: Sandbox) -> None:
    on_disk = media_files(sandbox)
    missing = {key: size for key, size in store_objects(sandbox).items()
               if not key.endswith("/") and on_disk.get(key[len("media/"):]) != size}
    assert not missing, f"{len(missing)} objects not on disk with their size, e.g. {list(missing)[:3]}"


def newest_journal(project_root: Path, kind: str, since: float) -> list:
    path = sorted((project_root / "runs").glob(f"*-{FAULTS_ENV}-{kind}.jsonl"))[-1]
    entries = read_entries(path)
    assert entries[0].time >= since - 1, f"{path.name} is not this run's journal"
    return entries


def journal_retries(project_root: Path, kind: str, since: float) -> Counter:
    """The store faults the newest run of ``kind`` on sandbox-faults journaled (RetryCounts), by kind."""
    entries = newest_journal(project_root, kind, since)
    found = Counter()
    for entry in entries:
        if isinstance(entry.event, RetryCounts):
            found.update(entry.event.retries)
    return found


def said_retries(output: str) -> Counter:
    """The "store faults retried: 3 × 503 SlowDown, 1 × connection reset" lines of a run's output, summed."""
    found = Counter()
    for line in output.splitlines():
        if "store faults retried: " in line:
            for count, kind in re.findall(r"(\d+) × ([^,]+)", line.split("store faults retried: ", 1)[1]):
                found[kind.strip()] += int(count)
    return found


@pytest.mark.timeout(1200)   # twenty real runs, 12-16 s each: past the suite's 300 s a test
def test_ten_cutovers_and_ten_rollbacks_ride_out_503s_and_resets(faulty, project_root):
    before = {alias: faulty.settings_bytes(alias) for alias in faulty.aliases}
    journaled, said, timings = Counter(), Counter(), []
    for number in range(RUNS):
        began = time.time()
        cut = invoke(project_root, "cutover", f"--env={FAULTS_ENV}")
        assert f"cutover of {FAULTS_ENV} done" in cut.stdout, cut.stdout[-3000:]
        journaled += journal_retries(project_root, "cutover", began)
        said += said_retries(cut.stdout)
        assert_bucket_holds_every_file(faulty)
        for alias in faulty.aliases:
            assert http_json(faulty.host(alias)["health_url"])["storage"] == "s3"
        # One upload on S3, through the proxy (the site's own boto3 retries): the rollback must bring it down.
        site = faulty.host(faulty.aliases[number % 2])["site_url"]
        upload(site, f"during faults {number} {uuid.uuid4().hex[:6]}.jpg", b"\xff\xd8\xff\xe0" + os.urandom(3000))
        middle = time.time()
        back = fab(project_root, "rollback")     # the last run's environment, sandbox-faults; exit 0 or it raises
        journaled += journal_retries(project_root, "rollback", middle)
        said += said_retries(back.stdout)
        for alias in faulty.aliases:
            assert faulty.settings_bytes(alias) == before[alias], f"run {number + 1}: {alias}'s settings differ"
            assert http_json(faulty.host(alias)["health_url"])["storage"] == "disk"
        assert_disk_holds_every_object(faulty)
        timings.append((round(middle - began, 1), round(time.time() - middle, 1)))
    print(f"cutover/rollback seconds: {timings}; retried (journal): {dict(journaled)}; said: {dict(said)}")
    injected = Counter(json.loads(line)["fault"] for line in
                       Path(faulty.state["faults"]["injected_log"]).read_text().splitlines())
    assert injected["503"] > 0 and injected["reset"] > 0, injected
    # The runs' journals and output show the faults they retried: SlowDowns, and resets by whatever name the
    # client that met them gave them (a reset, a connection closed early, a response cut short).
    assert journaled["503 SlowDown"] > 0 and sum(journaled.values()) > journaled["503 SlowDown"], journaled
    assert said["503 SlowDown"] > 0, said
    assert sum(said.values()) == sum(journaled.values())


def test_a_store_answering_only_503_fails_the_cutover_within_its_limit_and_changes_nothing(faulty, project_root):
    before = {alias: faulty.settings_bytes(alias) for alias in faulty.aliases}
    invoke(project_root, "sandbox.up", f"--media-files={TEST_MEDIA_FILES}", "--faults=503:1.0")
    try:
        began = time.time()
        failed = invoke(project_root, "cutover", f"--env={FAULTS_ENV}", check=False,
                        env={"STORE_RETRY_ATTEMPTS": "3", "STORE_RETRY_SECONDS": "10"})
        seconds = time.time() - began
    finally:
        invoke(project_root, "sandbox.up", f"--media-files={TEST_MEDIA_FILES}", f"--faults={FAULTS}")
    message = failed.stderr
    assert failed.returncode == 1 and "Traceback" not in message, failed.stdout[-2000:] + message
    assert "HTTP 503 SlowDown" in message and "3 attempts" in message, message
    assert "STORE_RETRY_ATTEMPTS=3, STORE_RETRY_SECONDS=10" in message, message
    reason = message.split("failed: ", 1)[-1]   # past the step's name ("preflight: bucket and credentials")
    assert "credential" not in reason.lower() and "AccessDenied" not in reason, message
    [step] = [entry.event for entry in newest_journal(project_root, "cutover", began)
              if isinstance(entry.event, StepFinished) and entry.event.result == "failed"]
    assert step.seconds <= 10 + 5, f"'{step.step}' failed after {step.seconds} s"   # the limit, and a request's time
    assert seconds < 90, f"the failed cutover took {seconds:.0f} s"    # a process and a preflight besides
    for alias in faulty.aliases:
        assert faulty.settings_bytes(alias) == before[alias]
        assert http_json(faulty.host(alias)["health_url"])["storage"] == "disk"
