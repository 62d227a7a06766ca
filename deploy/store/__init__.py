"""The S3 side: the boto3 client, one translator of store errors, the listing, the probe, bucket admin, IAM."""
