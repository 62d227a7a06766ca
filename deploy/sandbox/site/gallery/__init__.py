"""Stores uploaded files through Django's default storage and lists them."""
