"""Scripts copied to the hosts and run there with REMOTE_PYTHON (standard library only, Python 3.8+).

They are a package only so that the unit tests can import them; ``deploy.remote.ssh.put_script``
uploads them by file name.
"""
