"""How we reach the hosts: the SSH adapter (ssh.py) and the scripts that run on them (scripts/)."""
