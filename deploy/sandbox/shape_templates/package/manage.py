#!/usr/bin/env python3
"""Django's command-line utility for the shop site; it defaults to the dev settings."""
import os
import sys

if __name__ == "__main__":
    # As in most settings-package projects: the developer's module by default,
    # production sets DJANGO_SETTINGS_MODULE in its own environment.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
