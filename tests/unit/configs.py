"""Config files the unit tests share: the fewest keys an environment needs, for one host."""

MINIMAL = """\
HOSTS=web1
MEDIA_ROOT=~/webapps/media
SETTINGS_PATH=~/site/local_settings.py
RELOAD_COMMAND=true
SITE_URL=http://127.0.0.1:8001
AWS_STORAGE_BUCKET_NAME=my-media
"""
