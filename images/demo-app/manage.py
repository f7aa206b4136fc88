#!/usr/bin/env python3
"""Django's command line for the demo (`python3 manage.py migrate --noinput`, `migrate --plan`,
`sqlmigrate visits 0002`): the pre-deploy hook and the migration gate run these in the new image."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
