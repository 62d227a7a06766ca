"""The sequences: the cutover and the rollback (two lists over one step vocabulary), their preflight, status."""
