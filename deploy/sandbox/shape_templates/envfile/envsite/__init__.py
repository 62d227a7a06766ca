"""The env-configured site: one settings module, every value from the .env file (django-environ)."""
