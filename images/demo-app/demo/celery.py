"""The demo's Celery app (`celery -A demo worker` / `celery -A demo beat`): Redis is the broker, the
one task is jobs.work, and PostgreSQL (jobs.TaskRun) records every task's life, so tests can count
tasks queued, started, finished, lost and run twice across a worker's replacement.

Why these settings: a worker replaced by a rollout gets SIGTERM, Celery's warm shutdown: it stops
taking messages and finishes the tasks it is running, then exits. With task_acks_late a message is
acknowledged only when its task has finished, so a worker that dies first (SIGKILL after its
stop_grace_period, OOM, a crash) leaves it unacknowledged and Redis hands it to another worker once
the visibility timeout has passed: run again, never lost. A prefetch of 1 per process means a
worker holds no message it is not running: nothing waits behind a task in a worker being stopped
(with the default of 4 those would wait there until the shutdown returned them to the queue)."""
import os
import socket
from pathlib import Path

import django
from celery import Celery, bootsteps
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django.setup()  # the task and the producers' signal (jobs.tasks) use the ORM

app = Celery("demo")
app.conf.update(
    broker_url=os.environ.get("CELERY_BROKER_URL", "redis://redis:6379/0"),
    broker_connection_retry_on_startup=True,
    task_acks_late=True,
    # A task whose pool process is killed (not the whole worker) goes back to the queue, instead of
    # being acknowledged as failed with WorkerLostError.
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_concurrency=int(os.environ.get("WORKER_CONCURRENCY", "4")),
    broker_transport_options={
        # How long Redis keeps a delivered, unacknowledged message before another worker may take
        # it. Must exceed the longest task (TASK_SECONDS), or a task still running starts twice.
        "visibility_timeout": int(os.environ.get("VISIBILITY_TIMEOUT", "30")),
        # Look for such messages every 5 s (kombu's default is a scan every 10 x 10 s).
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
    },
    task_ignore_result=True,  # no result backend: PostgreSQL's jobs_taskrun is the record
    timezone="UTC",
    # Beat queues one task every BEAT_INTERVAL seconds (0 turns the schedule off).
    beat_schedule={
        "work": {"task": "jobs.work", "schedule": float(os.environ.get("BEAT_INTERVAL", "2")), "kwargs": {"source": "beat"}},
    }
    if float(os.environ.get("BEAT_INTERVAL", "2")) > 0
    else {},
    beat_scheduler="demo.celery:HeartbeatScheduler",
    beat_max_loop_interval=2,
)

# Liveness for Docker healthchecks, for the cost of a file's mtime: a `celery inspect ping` probe
# starts a Python and Celery per probe (see examples/demo/compose.yaml). The worker touches its
# file from its consumer's event loop while it is connected to the broker; beat on every tick.
WORKER_ALIVE = Path(os.environ.get("WORKER_ALIVE_FILE", "/tmp/celery-worker.alive"))
BEAT_ALIVE = Path(os.environ.get("BEAT_ALIVE_FILE", "/tmp/celery-beat.alive"))
HEARTBEAT_SECONDS = 2.0


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Touches WORKER_ALIVE every HEARTBEAT_SECONDS from the consumer's timer. The consumer stops
    its steps when it loses the broker (and on shutdown), so the file then goes stale."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, c):
        WORKER_ALIVE.touch()
        self.tref = c.timer.call_repeatedly(HEARTBEAT_SECONDS, WORKER_ALIVE.touch)

    def stop(self, c):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop


app.steps["consumer"].add(WorkerHeartbeat)


class HeartbeatScheduler(PersistentScheduler):
    def tick(self, *args, **kwargs):
        BEAT_ALIVE.touch()
        return super().tick(*args, **kwargs)


def whoami():
    """Who runs this process: the container's hostname (its short ID) and the app's release."""
    return socket.gethostname(), os.environ.get("RELEASE", "unknown")


# Last: the task module uses `app` and whoami() above. Imported here, not autodiscovered, so every
# process of the app (worker, beat, web) has the task and the producers' signal once it has the app.
import jobs.tasks  # noqa: E402, F401
