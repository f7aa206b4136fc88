"""gunicorn settings for the demo app (gunicorn 23.0 from PyPI, pinned in images/build). Env overrides in caps."""
import os

bind = "0.0.0.0:8000"

# gthread: each worker serves several requests at once in threads, so a /slow/ request doesn't
# block a worker, and idle keep-alive connections (Traefik pools them) don't pin a thread; nor, since
# gunicorn 21, do connections that have not sent a request yet (20.1 gave each a thread: #2781).
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))

# Load the app once in the master, before binding and forking: BOOT_DELAY is paid once, the port
# opens only when the app is importable, and no worker answers its first request slowly.
preload_app = True

# SIGTERM (docker stop) = graceful: stop accepting, finish in-flight requests for up to
# graceful_timeout, then exit. Compose's stop_grace_period (35s) is longer, so Docker never has to
# SIGKILL a worker that is still finishing a request.
graceful_timeout = 30
# Worker heartbeat timeout. gthread workers heartbeat from their main loop, not per request,
# so a 60 s /slow/ request is fine; keep it above the longest request anyway.
timeout = 75
# Keep-alive to the proxy. Traefik reuses idle backend connections; gunicorn closing one while
# Traefik sends on it is retried by Go's transport for GETs, so the default-ish value is fine.
keepalive = 5

# Access log on stdout only when asked: the 1 s healthcheck would otherwise flood the log.
accesslog = "-" if os.environ.get("ACCESS_LOG") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The release in the process title tells old from new gunicorns in `ps` on the host.
proc_name = "demo-" + os.environ.get("RELEASE", "app")
