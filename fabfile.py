"""media-cutover's Fabric tasks: `fab --list`.

Thin on purpose: each task loads the environment and calls deploy/.
"""

from fabric import task

from deploy.cli import load, operator_errors, say, table
from deploy.hosts import describe_hosts


@task(help={"env": "environment: reads config/<env>.env"})
def hosts(c, env=None):
    """Reach every host of an environment over SSH and show what the cutover will touch."""
    with operator_errors():
        settings = load(env)
        say(table(("HOST", "USER", "SETTINGS FILE", "USE_S3"), describe_hosts(settings)))
