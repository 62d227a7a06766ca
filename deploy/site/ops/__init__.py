"""The work on the hosts and through HTTP: the switch written, probes run, rows moved, health checked."""
