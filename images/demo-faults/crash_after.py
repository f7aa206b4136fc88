"""Runs the demo's gunicorn; with CRASH_AFTER=<s>, kills it and exits 3 that many seconds after
/health/ first answered 200 (so Docker has called the container healthy, or is about to).
Without it, execs gunicorn unchanged. SIGTERM (docker stop) is passed on for a graceful stop.
With FAULT set, gunicorn serves the app through faults.py's middleware instead."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

CMD = ["gunicorn", "--config", "/app/gunicorn.conf.py", "demo.wsgi:application"]
if os.environ.get("FAULT"):
    CMD = ["gunicorn", "--config", "/app/gunicorn.conf.py", "--pythonpath", "/faults", "faults:application"]
after = os.environ.get("CRASH_AFTER", "")
if not after:
    os.execvp(CMD[0], CMD)

child = subprocess.Popen(CMD)
signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))


def healthy():
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/health/", timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


while child.poll() is None and not healthy():
    time.sleep(0.2)
if child.poll() is not None:
    sys.exit(child.returncode)
print(f"demo: healthy; crashing in {after}s (CRASH_AFTER)", flush=True)
deadline = time.time() + float(after)
while child.poll() is None and time.time() < deadline:
    time.sleep(0.1)
if child.poll() is not None:
    sys.exit(child.returncode)
print("demo: CRASH_AFTER reached, exiting with status 3", file=sys.stderr, flush=True)
child.kill()
os._exit(3)
