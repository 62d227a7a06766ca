"""WSGI entry point: gunicorn serves `envsite.wsgi:application`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "envsite.settings")
application = get_wsgi_application()
