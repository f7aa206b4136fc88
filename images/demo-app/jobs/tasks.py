"""The demo's task: sleeps TASK_SECONDS (a job that takes a while) and records its start and finish
in jobs_taskrun; producers record its queueing through Celery's before_task_publish signal, so web
and beat alike write the row before the message reaches the broker."""
import os
import time

from celery.signals import before_task_publish
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Now

from demo.celery import app, whoami

from .models import TaskRun

TASK = "jobs.work"


@before_task_publish.connect
def record_queued(sender=None, headers=None, body=None, **_):
    if sender != TASK:
        return
    source = (body[1] if body and len(body) > 1 else {}).get("source", "")
    by = "beat" if source == "beat" else f"{source} {whoami()[0]}".strip()
    TaskRun.objects.create(id=headers["id"], queued_at=Now(), queued_by=by)


@app.task(name=TASK, bind=True)
def work(self, source="", seconds=None):
    """`source` only labels the row (see record_queued); `seconds` overrides TASK_SECONDS."""
    host, release = whoami()
    started = TaskRun.objects.filter(id=self.request.id).update(
        starts=F("starts") + 1,
        started_at=Coalesce(F("started_at"), Now()),
        # The first start's worker and release are kept; later starts only count.
        started_by=Case(When(starts=0, then=Value(host)), default=F("started_by")),
        started_release=Case(When(starts=0, then=Value(release)), default=F("started_release")),
    )
    if not started:  # the producer could not write its row: make it, with no queued_at
        TaskRun.objects.create(id=self.request.id, started_at=Now(), started_by=host, started_release=release, starts=1)
    time.sleep(float(seconds if seconds is not None else os.environ.get("TASK_SECONDS", "3")))
    TaskRun.objects.filter(id=self.request.id).update(
        finishes=F("finishes") + 1, finished_at=Now(), finished_by=host, finished_release=release
    )
    return None
