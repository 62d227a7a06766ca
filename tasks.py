"""media-cutover's Invoke tasks: `invoke --list`.

Thin on purpose: parse arguments, load the environment's settings, call deploy/.
"""

from invoke import Collection, task
from invoke.exceptions import Exit

from deploy.cli import PROJECT_ROOT, load_for_rollback, operator_errors, render_config, run_flow, say
from deploy.config.load import load
from deploy.engine.run import Options
from deploy.text_table import table
from dev_tasks import bench, sandbox

# Each task imports the part of deploy/ it runs in its body: `invoke --list` and every command start without
# the others' imports (the sandbox, the rehearsal's traffic, the other flows: about 0.3 s a command).

@task(help={"env": "environment: reads config/<env>.env (+ .secrets.env, + environment variables)"})
def config(c, env=None):
    """Print an environment's effective configuration, secrets masked."""
    with operator_errors():
        say(render_config(load(env, PROJECT_ROOT)))


@task(help={
    "env": "environment: reads config/<env>.env",
    "dry_run": "show every diff and remote command, change nothing",
    "checksum": "also compare MD5s with plain-MD5 ETags (slower)",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
    "accept_thumbnail_regeneration": "go on although sorl-thumbnail will make its thumbnails again on first view "
                                     "(the preflight states how many, and the requests to the bucket)",
})
def cutover(c, env=None, dry_run=False, checksum=False, break_lock=False, accept_thumbnail_regeneration=False):
    """Move media to S3 and switch every host to it; all or nothing."""
    from deploy.flows.cutover import run_cutover

    options = Options(dry_run=dry_run, checksum=checksum, break_lock=break_lock,
                      accept_thumbnail_regeneration=accept_thumbnail_regeneration)
    run_flow("cutover", run_cutover, lambda: load(env, PROJECT_ROOT), options,
             done="every host serves media from S3")


@task(help={
    "env": "environment (default: the last run's)",
    "dry_run": "show every diff and remote command, change nothing",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
})
def rollback(c, env=None, dry_run=False, break_lock=False):
    """Back to disk-served media on every host, downloading every file uploaded to the bucket meanwhile."""
    from deploy.flows.rollback import run_rollback

    run_flow("rollback", run_rollback, lambda: load_for_rollback(env, PROJECT_ROOT),
             Options(dry_run=dry_run, break_lock=break_lock), done="every host serves media from disk")


@task(help={
    "env": "environment: reads config/<env>.env",
    "dry_run": "show every diff and remote command, change nothing",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
})
def finalize(c, env=None, dry_run=False, break_lock=False):
    """End a mirror-mode cutover's soak: the mirror off, the sites writing to the bucket only; deletes nothing."""
    from deploy.flows.finalize import run_finalize

    run_flow("finalize", run_finalize, lambda: load(env, PROJECT_ROOT), Options(dry_run=dry_run, break_lock=break_lock),
             done="every host serves from and writes to the bucket only; a rollback now downloads")


@task(help={
    "env": "environment: reads config/<env>.env",
    "delete_local": "remove the files proven in the bucket (same size and MD5) from the media host's disk; "
                    "without it, reclaim only reports",
    "dry_run": "show what the proof and the removal would do, change nothing",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
    "accept_content_urls": "go on although the site's content still holds old media URLs (/media/...): the "
                           "redirect of `invoke settings-snippet --part=nginx` (private media: --part=django-redirect) "
                           "serves them from the bucket",
})
def reclaim(c, env=None, delete_local=False, dry_run=False, break_lock=False, accept_content_urls=False):
    """Free the disk: prove each media file is in the bucket (size and MD5), and with --delete-local remove those."""
    from deploy.flows.reclaim import run_reclaim

    run_flow("reclaim", run_reclaim, lambda: load(env, PROJECT_ROOT),
             Options(dry_run=dry_run, break_lock=break_lock, delete_local=delete_local,
                     accept_content_urls=accept_content_urls),
             done="the disk holds only the files not proven in the bucket (the record is under runs/)"
             if delete_local else "a report: nothing removed")


@task(name="rewrite-urls", help={
    "env": "environment: reads config/<env>.env; every site must serve from S3",
    "dry_run": "show each row's change as a diff, change nothing",
    "break_lock": "remove a lock left by a dead run (its details are shown first)",
})
def rewrite_urls(c, env=None, dry_run=False, break_lock=False):
    """Rewrite old media URLs in the site's content to the bucket's, recorded under runs/ (a rollback puts them back)."""
    from deploy.flows.rewrite_urls import run_rewrite_urls

    run_flow("rewrite-urls", run_rewrite_urls, lambda: load(env, PROJECT_ROOT),
             Options(dry_run=dry_run, break_lock=break_lock),
             done="the content's old media URLs of files in the bucket point at the bucket (the record is under runs/)")


@task(name="content-urls", help={"env": "environment: reads config/<env>.env"})
def content_urls(c, env=None):
    """Find old media URLs (/media/...) stored in the site's content: by field, rows, URLs, where their files are."""
    from deploy.flows.find_content import find_output, run_find

    with operator_errors():
        settings = load(env, PROJECT_ROOT)
        _, found = run_find(settings, say)
        say(find_output(settings.env, found, settings.public_media))


@task(help={"env": "environment: reads config/<env>.env"})
def status(c, env=None):
    """Show per host whether USE_S3 is on, the last run, the lock, the disk and the content's old media URLs."""
    from deploy.flows import status as status_lib

    with operator_errors():
        settings = load(env, PROJECT_ROOT)
        say(table(("HOST", "STATE"), status_lib.host_rows(settings)))
        say(f"last run: {status_lib.last_run_line(settings)}")
        say(f"lock:     {status_lib.lock_line(settings)}")
        say(f"disk:     {status_lib.disk_line(settings)}")
        say(f"content:  {status_lib.content_line(settings)}")


ADMIN_ENV_HELP = ("dotenv file with the admin's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, for this command "
                  "only (default: MEDIA_CUTOVER_ADMIN_ACCESS_KEY_ID/_SECRET_ACCESS_KEY from the environment; "
                  "for env sandbox, .sandbox/s3-admin.env)")


@task(help={
    "env": "environment: reads config/<env>.env",
    "admin_env": ADMIN_ENV_HELP,
    "dry_run": "show what would be created or changed, change nothing",
    "replace_drifted": "replace a bucket or IAM policy that differs from ours (the diff is shown first)",
    "check": "afterwards, check what the new key can and cannot do (--no-check skips it)",
})
def provision(c, env=None, admin_env=None, dry_run=False, replace_drifted=False, check=True):
    """Create or adopt the bucket, its public-read policy and a least-privilege IAM user and key."""
    from deploy.config import credentials
    from deploy.provision import apply as provision_lib

    with operator_errors():
        settings = load(env, PROJECT_ROOT, deploy_key_optional=True)
        admin = credentials.admin_settings(settings, admin_env)
        options = provision_lib.ProvisionOptions(dry_run=dry_run, replace_drifted=replace_drifted, check=check)
        provision_lib.run_provision(settings, admin, options, say)
        if not dry_run:
            say(f"provision of {settings.env} done: next, `invoke settings-snippet --env={settings.env}`")


@task(name="settings-snippet", help={
    "env": "environment: reads config/<env>.env",
    "part": "both (default), settings (the settings block), tag (the template-tag module), mirror (the "
            "mirror storage module, media_mirror.py), nginx (old media URLs: the file from disk while it is "
            "there, else a 301 to the bucket) or django-redirect (the same as a Django view, media_redirect.py)",
    "custom_domain": "serve media from this host name (a CDN) instead of the bucket's own",
    "flavor": "plain (default: a USE_S3 = False literal) or environ (django-environ; the switch in an env file)",
    "media_url": "nginx, django-redirect: the MEDIA_URL the disk served (default DISK_MEDIA_URL, else /media/)",
    "media_root": "nginx: MEDIA_ROOT's absolute path on the web host (default MEDIA_ROOT, when absolute)",
})
def settings_snippet(c, env=None, part="both", custom_domain=None, flavor="plain", media_url=None, media_root=None):
    """Print the S3 block for the end of the site's settings (it keeps STORAGES' other entries) and an e-mail tag."""
    from deploy.site.edits import snippet as snippet_lib

    with operator_errors():
        settings = load(env, PROJECT_ROOT, deploy_key_optional=True)
        say(snippet_lib.render(settings, custom_domain, part, flavor, media_url, media_root).rstrip("\n"))


@task(name="teardown-provision", help={
    "env": "environment: reads config/<env>.env; refused when PRODUCTION=true",
    "admin_env": ADMIN_ENV_HELP,
    "dry_run": "show what would be removed, remove nothing",
})
def teardown_provision(c, env=None, admin_env=None, dry_run=False):
    """Remove what provision created (sandboxes and rehearsals only; refuses production)."""
    from deploy.config import credentials
    from deploy.provision import teardown as teardown_lib

    with operator_errors():
        settings = load(env, PROJECT_ROOT, deploy_key_optional=True)
        admin = credentials.admin_settings(settings, admin_env)
        for line in teardown_lib.run_teardown(settings, admin, dry_run=dry_run):
            say(line)


@task(auto_shortflags=False, help={
    "env": "environment: reads config/<env>.env; refused when PRODUCTION=true",
    "keep": "stay on S3 at the end instead of rolling back",
    "upload_rate": "uploads per second through /upload/, over all hosts (default 5)",
    "readers": "page-and-media reader threads per host (default 2)",
    "hold": "seconds of traffic before the cutover, between cutover and rollback, and at the end (default 3)",
    "fail_reload_on": "inject a fault: the reload command fails on this host (the cutover must undo)",
    "force_production": "rehearse even on an environment marked PRODUCTION=true",
    "checksum": "the cutover also compares MD5s with plain-MD5 ETags",
    "accept_thumbnail_regeneration": "the cutover goes on although sorl-thumbnail will make its thumbnails again",
    "changeover": "copy | mirror: the change-over to rehearse (default: the environment's CHANGEOVER)",
})
def rehearse(c, env=None, keep=False, upload_rate=5.0, readers=2, hold=3.0, fail_reload_on=None,
             force_production=False, checksum=False, accept_thumbnail_regeneration=False, changeover=None):
    """Dress rehearsal: cutover then rollback under live traffic; report under runs/rehearsal-<run id>/."""
    from deploy import rehearsal as rehearsal_lib

    with operator_errors():
        options = rehearsal_lib.RehearsalOptions(
            keep=keep, force_production=force_production, fail_reload_on=fail_reload_on,
            upload_rate=float(upload_rate), readers_per_host=int(readers), hold=float(hold), checksum=checksum,
            accept_thumbnail_regeneration=accept_thumbnail_regeneration, changeover=changeover)
        settings = rehearsal_lib.load_rehearsal_settings(env, PROJECT_ROOT, options)
        outcome = rehearsal_lib.run_rehearsal(settings, options, say)
    say(outcome.summary)
    if outcome.exit_code:
        raise Exit(code=int(outcome.exit_code))


ns = Collection(config, cutover, rollback, finalize, reclaim, content_urls, rewrite_urls, status, provision,
                settings_snippet, teardown_provision, rehearse, bench, sandbox)
