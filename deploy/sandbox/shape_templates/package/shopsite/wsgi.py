"""WSGI entry point: gunicorn serves `shopsite.wsgi:application`.

The default is the dev module, as the project template wrote it; the running
site gets `shopsite.settings.production` from gunicorn's raw_env.
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings.dev")
application = get_wsgi_application()
