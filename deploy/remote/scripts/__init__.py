"""Programs run on the hosts with REMOTE_PYTHON (standard library only, Python 3.8+).

``deploy.remote.ssh.put_script`` uploads media_manifest.py and write_settings.py by file name; the others
are sent as ``python3 -c TEXT`` (``deploy.host_scripts``).  This is a package only so that the unit tests
can import the first two; the others do their work at import, so nothing imports them.
"""
