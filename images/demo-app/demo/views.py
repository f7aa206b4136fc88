"""The demo's three endpoints. Every answer says which release and which container served it,
so a load generator can tell old from new and count what each container answered."""
import os
import socket
import time

from django.http import JsonResponse

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
