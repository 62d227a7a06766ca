"""One environment's configuration: loading and validating it (load), its types, the admin and deploy keys."""
