"""WSGI entry point of shape "thumbs"."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thumbsite.settings")
application = get_wsgi_application()
