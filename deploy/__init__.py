"""media-cutover: move a live Django site's media from disk to S3, and back."""
