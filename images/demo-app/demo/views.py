"""The demo's endpoints. Every answer says which release and which container served it,
so a load generator can tell old from new and count what each container answered."""
import os
import socket
import time

from django.conf import settings
from django.db import DatabaseError, OperationalError
from django.http import JsonResponse
from visits.models import SCHEMA, Visit

SLOW_MAX_MS = 60000  # /slow/ never sleeps longer than this, whatever it is asked


def _whoami():
    return {
        "release": os.environ.get("RELEASE", "unknown"),
        "hostname": socket.gethostname(),  # the container's hostname (short container ID)
        "pid": os.getpid(),                # the gunicorn worker that answered
    }


def index(request):
    return JsonResponse(_whoami())


def health(request):
    # Read per request, so `docker exec` can't change it but a test's env at create time can.
    if os.environ.get("HEALTH_FAIL") == "1":
        return JsonResponse({"status": "failing", "reason": "HEALTH_FAIL=1"}, status=503)
    return JsonResponse({"status": "ok"})


def slow(request):
    try:
        ms = int(request.GET.get("ms", "1000"))
    except ValueError:
        return JsonResponse({"error": "ms must be an integer"}, status=400)
    ms = max(0, min(ms, SLOW_MAX_MS))
    time.sleep(ms / 1000)
    return JsonResponse(dict(_whoami(), ms=ms))


def visits(request):
    """Records this request (one INSERT) and answers with the table's row count."""
    # settings.DATABASES can't tell: Django fills an empty one in with its dummy backend.
    if not settings.DATABASE_CONFIGURED:
        return JsonResponse(dict(_whoami(), error="no database configured", reason="POSTGRES_HOST is not set"), status=503)
    row = {"path": request.path}
    if SCHEMA == 2:
        row["user_agent"] = request.headers.get("User-Agent", "")[:300]
    try:
        Visit.objects.create(**row)
        count = Visit.objects.count()
    except OperationalError as e:  # cannot connect, or the server went away
        return JsonResponse(dict(_whoami(), error="database unavailable", reason=_first_line(e)), status=503)
    except DatabaseError as e:  # the schema is not this release's (a missing table or column)
        return JsonResponse(dict(_whoami(), error="database error", reason=_first_line(e)), status=500)
    return JsonResponse(dict(_whoami(), visits=count, schema=SCHEMA))


def _first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
