"""media-cutover's Invoke tasks: `invoke --list`.

Thin on purpose: parse arguments, load the environment's settings, call deploy/.
"""

from invoke import Collection, task

from deploy import sandbox as sandbox_lib
from deploy.cli import PROJECT_ROOT, load, operator_errors, render_config, say, table


@task(help={"env": "environment: reads config/<env>.env (+ .secrets.env, + environment variables)"})
def config(c, env=None):
    """Print an environment's effective configuration, secrets masked."""
    with operator_errors():
        say(render_config(load(env)))


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
ns = Collection(config, sandbox)
