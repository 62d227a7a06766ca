"""media-cutover's Invoke tasks: `invoke --list`.

Thin on purpose: parse arguments, load the environment's settings, call deploy/.
"""

from invoke import Collection, task

from deploy import sandbox as sandbox_lib
from deploy import status as status_lib
from deploy.cli import PROJECT_ROOT, load, operator_errors, render_config, say, step_table, table
from deploy.context import Options
from deploy.cutover import run_cutover


@task(help={"env": "environment: reads config/<env>.env (+ .secrets.env, + environment variables)"})
def config(c, env=None):
    """Print an environment's effective configuration, secrets masked."""
    with operator_errors():
        say(render_config(load(env)))


@task(help={
    "env": "environment: reads config/<env>.env",
    "dry_run": "show every diff and remote command, change nothing",
    "checksum": "also compare MD5s with plain-MD5 ETags (slower)",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
})
def cutover(c, env=None, dry_run=False, checksum=False, break_lock=False):
    """Move media to S3 and switch every host to it; all or nothing."""
    with operator_errors():
        settings = load(env)
        runner = run_cutover(settings, Options(dry_run=dry_run, checksum=checksum, break_lock=break_lock), say)
        say(step_table(runner.outcomes))
        say(f"cutover of {settings.env} " + ("previewed: nothing changed" if dry_run
                                                 else "done: every host serves media from S3"))


@task(help={"env": "environment: reads config/<env>.env"})
def status(c, env=None):
    """Show per host whether USE_S3 is on, the last run and the lock."""
    with operator_errors():
        settings = load(env)
        say(table(("HOST", "STATE"), status_lib.host_rows(settings)))
        say(f"last run: {status_lib.last_run_line(settings)}")
        say(f"lock:     {status_lib.lock_line(settings)}")


@task(name="up", help={"media_files": "how many media files to generate on the media host (first time)"})
def sandbox_up(c, media_files=3000):
    """Bring the local sandbox up (sshd, SeaweedFS, Django sites); reuses what runs."""
    with operator_errors():
        settings = sandbox_lib.up(PROJECT_ROOT, int(media_files), say=say)
        say(f"sandbox ready: hosts {', '.join(settings.host_aliases)} "
            f"(ssh -F .sandbox/ssh_config web1), S3 {settings.endpoint_url}/{settings.bucket}, "
            "details in .sandbox/sandbox.json")


@task(name="down")
def sandbox_down(c):
    """Stop every sandbox process (files under .sandbox/ stay)."""
    with operator_errors():
        sandbox_lib.down(PROJECT_ROOT, say=say)
        say("sandbox down")


@task(name="status")
def sandbox_status(c):
    """Show whether each sandbox part runs."""
    with operator_errors():
        say(table(("PART", "STATE"), sandbox_lib.status(PROJECT_ROOT)))


@task(name="reset")
def sandbox_reset(c):
    """Put the sandbox back on disk storage with an empty bucket prefix (tests, rehearsals)."""
    with operator_errors():
        sandbox_lib.reset(PROJECT_ROOT, say=say)


sandbox = Collection("sandbox", sandbox_up, sandbox_down, sandbox_status, sandbox_reset)
ns = Collection(config, cutover, status, sandbox)
