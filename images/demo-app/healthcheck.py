"""Docker HEALTHCHECK for the demo app: exit 0 on a 2xx from /health/, 1 on anything else.
A one-line reason goes to Docker's health log (State.Health.Log), not a traceback."""
import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8000/health/", timeout=2) as r:
        ok = 200 <= r.status < 300
        print(r.status)
except Exception as e:  # HTTPError (non-2xx), connection refused while booting, timeout
    print(f"unhealthy: {e}")
    sys.exit(1)
sys.exit(0 if ok else 1)
