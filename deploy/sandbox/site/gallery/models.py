"""The models: a file stored through Django's default storage, and an article whose content stores media URLs."""
from django.db import models
from django.utils import timezone


class StoredFile(models.Model):
    """A media file, on disk or in S3 depending on the active default storage."""

    file = models.FileField(upload_to="uploads/%Y/%m/", max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    host = models.CharField(max_length=100, help_text="Host that stored it, or 'seed'.")

    def __str__(self):
        return self.file.name


class Article(models.Model):
    """A page of rich text, as CKEditor or TinyMCE sites store it: the cover is a FileField (a name, its URL
    follows the storage), but ``body`` (HTML) and ``data`` (JSON) hold media URLs literally, which keep
    pointing where the files were when they were written.  ``manage.py seed_content`` seeds them."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    cover = models.FileField(upload_to="covers/%Y/%m/", max_length=500, blank=True)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return self.slug
