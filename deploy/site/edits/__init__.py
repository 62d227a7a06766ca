"""Text changes to a site's files: the switch in a Python or an env file, the settings snippet. Pure."""
