"""WSGI entry point. gunicorn loads it once in the master (--preload, see gunicorn.conf.py), so the
boot delay and the boot crash below happen before the port is bound and before workers fork."""
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

# Mimic a large app's import time: the container is up but does not listen yet.
_delay = float(os.environ.get("BOOT_DELAY", "2"))
print(f"demo: release {os.environ.get('RELEASE', 'unknown')} booting (BOOT_DELAY={_delay}s)", flush=True)
time.sleep(_delay)

# Mimic an app that dies while booting (bad config, failed migration, ...): after the boot delay,
# so it looks like a real import failure; set BOOT_DELAY=0 to crash at once.
if os.environ.get("CRASH_AT_BOOT") == "1":
    print("demo: CRASH_AT_BOOT=1, exiting with status 3 before serving anything", file=sys.stderr, flush=True)
    # os._exit, not sys.exit: gunicorn would catch SystemExit from the app import and retry/reword it.
    os._exit(3)

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
# Django imports the URLconf (and with it the views, jobs.tasks and Celery) at the first request;
# done here, in gunicorn's preloading master, each worker forks with it loaded, and no request
# (the healthcheck's included) waits while a worker imports Celery under the GIL.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns
print("demo: app loaded", flush=True)
