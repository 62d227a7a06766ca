"""The shop site: a settings-package project whose media the cutover tool moves to S3."""
