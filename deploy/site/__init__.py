"""The site on each host: its settings file (the pure edit, and the switch on the hosts), health, packages,
the database's file references, the settings snippet."""
