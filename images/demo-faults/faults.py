"""WSGI middleware around the demo app for the fault variants the bake must catch. The app
stays healthy and its smoke path answers; only real traffic shows the fault:
  FAULT=flaky  FAULT_RATE (0.2) of the requests under FAULT_PATHS (/slow/, comma-separated)
               answer 500
  FAULT=slow   every request but /health/ takes SLOW_FACTOR (5) times as long as the app took,
               counting at least SLOW_MIN_MS (30) for the app: a 2 ms page takes 150 ms
/health/ is never touched: Docker must keep calling the container healthy."""
import os
import random
import time

from demo.wsgi import application as app

FAULT = os.environ.get("FAULT", "")
RATE = float(os.environ.get("FAULT_RATE", "0.2"))
PATHS = tuple(p for p in os.environ.get("FAULT_PATHS", "/slow/").split(",") if p)
FACTOR = float(os.environ.get("SLOW_FACTOR", "5"))
MIN_S = float(os.environ.get("SLOW_MIN_MS", "30")) / 1000
SPARED = ("/health/",)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith(SPARED):
        return app(environ, start_response)
    if FAULT == "flaky" and path.startswith(PATHS) and random.random() < RATE:
        start_response("500 Internal Server Error", [("Content-Type", "application/json")])
        return [b'{"error": "flaky: an injected failure (FAULT=flaky)"}\n']
    if FAULT == "slow":
        t0 = time.monotonic()
        body = b"".join(app(environ, start_response))
        took = max(time.monotonic() - t0, MIN_S)
        time.sleep((FACTOR - 1) * took)
        return [body]
    return app(environ, start_response)
