"""One row per Celery task of the demo (jobs.work): who queued it, who started and finished it and
how many times, so a test can count queued / started / finished / lost / run twice."""
from django.db import models


class TaskRun(models.Model):
    id = models.CharField(max_length=64, primary_key=True)  # Celery's task id (a UUID)
    # Written by the producer before the message goes to the broker (jobs.tasks.record_queued);
    # null when that failed and the worker made the row itself.
    queued_at = models.DateTimeField(null=True)
    queued_by = models.CharField(max_length=100, blank=True)  # "beat" or "web <hostname>"
    # The first start: the worker container's hostname and the app release it ran.
    started_at = models.DateTimeField(null=True)
    started_by = models.CharField(max_length=100, blank=True)
    started_release = models.CharField(max_length=40, blank=True)
    starts = models.IntegerField(default=0)  # > 1: delivered again (a worker died mid-task)
    # The last finish.
    finished_at = models.DateTimeField(null=True)
    finished_by = models.CharField(max_length=100, blank=True)
    finished_release = models.CharField(max_length=40, blank=True)
    finishes = models.IntegerField(default=0)  # > 1: the task ran to the end twice
