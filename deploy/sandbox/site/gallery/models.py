"""The one model: a file stored through Django's default storage."""
from django.db import models
from django.utils import timezone


class StoredFile(models.Model):
    """A media file, on disk or in S3 depending on the active default storage."""

    file = models.FileField(upload_to="uploads/%Y/%m/", max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    host = models.CharField(max_length=100, help_text="Host that stored it, or 'seed'.")

    def __str__(self):
        return self.file.name
