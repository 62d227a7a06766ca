"""media-cutover's Fabric tasks: `fab --list`.

Thin on purpose: each task loads the environment and calls deploy/.
"""

from fabric import task

from deploy.cli import PROJECT_ROOT, load_for_rollback, operator_errors, run_flow, say
from deploy.config.load import load
from deploy.engine.run import Options
from deploy.text_table import table

# Each task imports the flow it runs in its body (as tasks.py does): `fab --list` starts without them.


@task(help={"env": "environment: reads config/<env>.env"})
def hosts(c, env=None):
    """Reach every host of an environment over SSH and show what the cutover will touch."""
    from deploy.flows.status import describe_hosts

    with operator_errors():
        settings = load(env, PROJECT_ROOT)
        say(table(("HOST", "USER", "SETTINGS FILE", "SWITCH"), describe_hosts(settings)))


@task(help={
    "env": "environment (default: the last run's); with -H only those hosts of it",
    "dry_run": "show every diff and remote command, change nothing",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
})
def rollback(c, env=None, dry_run=False, break_lock=False):
    """Back to disk-served media, downloading every file uploaded to the bucket meanwhile."""
    from deploy.flows.rollback import run_rollback

    only = [c.original_host] if getattr(c, "original_host", None) else None  # fab -H web1,web2: one host a call
    run_flow("rollback", run_rollback, lambda: load_for_rollback(env, PROJECT_ROOT, only),
             Options(dry_run=dry_run, break_lock=break_lock),
             done=f"{only[0]} serves media from disk" if only else "every host serves media from disk")
