"""The sandbox's deploy key: one that `invoke provision` makes, as production's is.

The store's admin keys (``.sandbox/s3-admin.env``) create the bucket, its
policy and users; the environment's deploy key in ``config/sandbox.secrets.env``
may only touch ``AWS_LOCATION/*``.  Every task, test and site of the sandbox
uses that key, so a step that needs more than the provisioned rights fails here
first, not in production.
"""

from __future__ import annotations

from pathlib import Path
from ..config import credentials
from ..config.load import load
from ..config.types import Settings
from ..provision.apply import ProvisionOptions, Provisioner, run_provision
from ..provision.plan import plan, state_word
from ..store import iam


def ensure_deploy_key(project_root: Path, admin: Settings, env: str = "sandbox") -> str:
    """Provision the sandbox's bucket, IAM user and key unless all is in place; one line on what happened.
    ``env``: the default site's environment, or a shape's with a bucket of its own (``admin``: the store's
    admin key on that environment's settings).

    A key on file that this store does not know (``.sandbox/`` was made anew, so
    was the store), or the admin key an older sandbox used as its deploy key, is
    replaced by a new provisioned one: the sandbox made it, so the sandbox may.
    """
    settings = load(env, project_root, deploy_key_optional=True)
    provisioner = Provisioner(settings, admin)
    _drop_keys_not_on_file(provisioner, settings)
    steps = plan(provisioner.desired, provisioner.observe(), replace_drifted=True)
    if not any(step.acts for step in steps):
        return f"deploy key {settings.access_key_id} (provisioned, least privilege) in place"
    on_file = credentials.key_on_file(settings)
    lines: list[str] = []
    run_provision(settings, admin, ProvisionOptions(replace_drifted=True), lines.append)
    key_id, _ = credentials.key_on_file(settings)
    acted = ", ".join(f"{step.thing} {state_word(step, done=True)}" for step in steps if step.acts)
    if on_file is not None and on_file[0] == key_id:
        return f"deploy key {key_id} kept; provisioned: {acted}; the key's checks passed"
    why = ("no deploy key was on file" if on_file is None
           else "the admin key was the deploy key" if on_file[0] == admin.access_key_id
           else f"this store does not know the key on file, {on_file[0]} (.sandbox/ was made anew)")
    return (f"{why}: provisioned {key_id} into config/{env}.secrets.env (mode 600; {acted}); "
            "the key's checks passed")


def _drop_keys_not_on_file(provisioner: Provisioner, settings: Settings) -> None:
    """The sandbox user's keys that config/sandbox.secrets.env does not hold: nothing can use them.

    Left, they would count against the store's two keys a user (provision refuses
    to make a third).
    """
    user, api = provisioner.desired.names.user, provisioner.iam_api
    if not iam.user_exists(api, user):
        return
    on_file = credentials.key_on_file(settings)
    for key_id in iam.access_key_ids(api, user):
        if on_file is None or key_id != on_file[0]:
            api.delete_access_key(UserName=user, AccessKeyId=key_id)
