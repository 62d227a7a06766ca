"""Sandbox Django project whose media the cutover tool moves from disk to S3."""
