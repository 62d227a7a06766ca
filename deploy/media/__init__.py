"""The media tree against the bucket: the comparison (compare, pure), the manifest from the media host, and
the transfers of a run with their checks."""
