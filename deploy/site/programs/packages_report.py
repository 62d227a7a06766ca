"""Defines site_packages(): Django's version, whether django-storages' S3 backend and boto3 import in the
site's own environment, and whether ``storages`` is in INSTALLED_APPS (deploy/site/facts/packages.py judges it).

Sent in the storage probe's text (``manage.py shell -c``), before ``storage_probe.py``, which calls it.
Needs Django: the integration tests run it in the sandbox's site.
"""

def site_packages():
    import importlib
    import django
    from django.conf import settings

    def version(name):
        try:
            from importlib.metadata import version as v
            return v(name)
        except Exception:
            return None

    def error(module):
        try:
            importlib.import_module(module)
            return None
        except Exception as problem:
            return type(problem).__name__ + ": " + str(problem)

    return {
        "django": django.get_version(),
        "storages_error": error("storages.backends.s3"),
        "storages_present": error("storages") is None,
        "storages_version": version("django-storages"),
        "boto3_error": error("boto3"),
        "boto3_version": version("boto3"),
        "storages_in_installed_apps": "storages" in settings.INSTALLED_APPS,
    }
