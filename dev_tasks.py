"""The project's own Invoke tasks, beside the operator's in tasks.py: the local sandbox (`invoke sandbox.up`,
`sandbox.down`, `sandbox.status`, `sandbox.reset`) and the benchmarks (`invoke bench`).  tasks.py adds them to
its collection; thin as it is: each task parses its arguments and calls deploy/ or bench/.
"""

from invoke import Collection, task

from deploy.cli import PROJECT_ROOT, operator_errors, say
from deploy.text_table import table


@task(help={
    "env": "the sandbox environment to measure on",
    "runs": "rounds on the photo tree (medians are reported)",
    "quick": "small trees, one round: a smoke run",
    "changeover": "also measure the change-over with a real cutover (resets the sandbox!)",
    "passes": "only the delta passes at scale (bench/RESULTS-passes.md); the rest is not re-run",
    "pass_trees": "with --passes: the trees, 100k and/or 1m (default 100k,1m)",
    "pass_changes": "with --passes: the numbers of changed files (default 0,100,1000)",
    "keep_prefixes": "with --passes: keep the bench-passes-* prefixes (python -m bench.run --clean deletes them)",
    "scale": "everything the scale targets need, in one run of an hour and more: the change-over both ways and "
             "the overhead at 100,000 and 1,000,000 files (reseeds the sandbox site!), invoke rehearse at 5 "
             "and 30 uploads/s on the 100,000, then --passes",
    "reclaim": "only `invoke reclaim` at 100,000 files against an md5sum read of the same tree, its peak memory, "
               "the removal and the rollback after it (reseeds the sandbox site; about 20 minutes)",
    "mirror": "only `invoke rehearse` in copy and in mirror mode on the 100,000-file tree at 30 uploads/s, "
              "side by side (reseeds the sandbox site; about 20 minutes); the rest is not re-run",
    "faults": "only the bulk upload through a fault proxy at 503:0.05,reset:0.03 beside the same without faults "
              "(bench/faults_bench.py: the \"Store faults\" section of bench/RESULTS.md; --runs rounds, --quick: "
              "400 files, one round); the rest is not re-run",
    "content_urls": "only `invoke content-urls` and `invoke rewrite-urls` on 100,000 seeded articles beside a plain "
                    "UPDATE ... REPLACE() by sqlite3 on the media host (bench/content_urls_bench.py: the \"Content "
                    "URLs\" section of bench/RESULTS.md; --runs runs; seeds the rows, cuts over if needed, puts the "
                    "default rows back)",
})
def bench(c, env="sandbox", runs=3, quick=False, changeover=False, passes=False, pass_trees="100k,1m",
          pass_changes="0,100,1000", keep_prefixes=False, scale=False, mirror=False, reclaim=False, faults=False,
          content_urls=False):
    """Benchmark sync and verify against s3cmd, awscli, rclone and s5cmd; writes bench/RESULTS.md."""
    from bench.passes_report import run_passes
    from bench.run import run_bench  # bench/ is not part of the installed package

    with operator_errors():
        if reclaim:
            from bench.reclaim_bench import run as run_reclaim_bench
            path = run_reclaim_bench(PROJECT_ROOT, say=say, command="invoke bench --reclaim")
        elif content_urls:
            from bench.content_urls_bench import run as run_content_urls_bench
            path = run_content_urls_bench(PROJECT_ROOT, runs=int(runs), say=say,
                                          command="invoke bench --content-urls" + (f" --runs={runs}" if int(runs) != 3
                                                                                   else ""))
        elif faults:
            from bench.faults_bench import run_faults_bench
            path = run_faults_bench(PROJECT_ROOT, runs=1 if quick else int(runs), files=400 if quick else 4000,
                                    say=say, command="invoke bench --faults" + (" --quick" if quick else ""))
        elif mirror:
            from bench.mirror_rehearsals import run as run_mirror
            path = run_mirror(PROJECT_ROOT, say=say, command="invoke bench --mirror")
        elif scale:
            from bench.scale import run_scale
            path = run_scale(PROJECT_ROOT, env=env, say=say, command="invoke bench --scale")
        elif passes:
            path = run_passes(PROJECT_ROOT, trees=pass_trees, changes=pass_changes, keep_prefixes=keep_prefixes,
                              quick=quick, env=env, say=say,
                              command=f"invoke bench --env={env} --passes --pass-trees={pass_trees} "
                                      f"--pass-changes={pass_changes}" + (" --quick" if quick else "")
                                      + (" --keep-prefixes" if keep_prefixes else ""))
        else:
            path = run_bench(PROJECT_ROOT, runs=int(runs), quick=quick, changeover=changeover, env=env, say=say,
                             command=f"invoke bench --env={env} --runs={runs}" + (" --quick" if quick else "")
                             + (" --changeover" if changeover else ""))
        say(f"results: {path}")


@task(name="up", help={"media_files": "how many media files to generate on the media host (first time)",
                        "small_files": "make them 1-4 KB each (first time; a million fit in ~4 GB: the scale bench)",
                        "content_rows": "seeded articles whose rich text and JSON hold media URLs (default 24; "
                                        "100000 for the bench); made exactly so on every up",
                        "shapes": "also bring up extra site shapes, each configured by config/sandbox-<shape>.env: "
                                  "package, envfile, recipe, thumbs, staticmedia, private, cdn (comma-separated) or all",
                        "faults": "put a fault proxy in front of the store, at these rates per request: "
                                  "503:0.05,reset:0.03[,latency:0.01:200ms] (or 5%); run the tool with "
                                  "--env=sandbox-faults; without it (or off) no proxy runs"})
def sandbox_up(c, media_files=3000, shapes="", small_files=False, faults="", content_rows=24):
    """Bring the local sandbox up (sshd, SeaweedFS, Django sites); reuses what runs."""
    from deploy import sandbox as sandbox_lib

    with operator_errors():
        settings = sandbox_lib.up(PROJECT_ROOT, int(media_files), say=say, site_shapes=shapes, small_files=small_files,
                                  faults=faults, content_rows=int(content_rows))
        say(f"sandbox ready: hosts {', '.join(settings.host_aliases)} "
            f"(ssh -F .sandbox/ssh_config web1), S3 {settings.endpoint_url}/{settings.bucket}, "
            "details in .sandbox/sandbox.json"
            + (f"; store faults {faults} through the proxy: --env=sandbox-faults" if faults and faults != "off"
               else ""))


@task(name="down")
def sandbox_down(c):
    """Stop every sandbox process (files under .sandbox/ stay)."""
    from deploy import sandbox as sandbox_lib

    with operator_errors():
        sandbox_lib.down(PROJECT_ROOT, say=say)
        say("sandbox down")


@task(name="status")
def sandbox_status(c):
    """Show whether each sandbox part runs."""
    from deploy import sandbox as sandbox_lib

    with operator_errors():
        say(table(("PART", "STATE"), sandbox_lib.status(PROJECT_ROOT)))


@task(name="reset", help={"shape": "reset only this extra site shape (package, envfile, recipe, thumbs, staticmedia); the bucket "
                                    "is left alone",
                           "empty_bucket": "with --shape: also empty the bucket prefix (shared with the default site)"})
def sandbox_reset(c, shape=None, empty_bucket=False):
    """Put the sandbox back on disk storage with an empty bucket prefix (tests, rehearsals)."""
    from deploy import sandbox as sandbox_lib

    with operator_errors():
        sandbox_lib.reset(PROJECT_ROOT, say=say, shape=shape, empty_bucket=empty_bucket)


sandbox = Collection("sandbox", sandbox_up, sandbox_down, sandbox_status, sandbox_reset)
