"""Settings package: base.py is shared, dev.py and production.py pick from it, local.py is the host's own."""
