"""One environment's configuration: the one loader (load), the keys it knows (keys), its types, remote
paths as a shell or SFTP wants them (paths), the admin and deploy keys (credentials)."""
