"""HTTP side of the demo's tasks: queue some (the load can), and read the counts as JSON."""
from django.db import DatabaseError
from django.db.models import Count, Q
from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST

from .models import TaskRun
from .tasks import work

ENQUEUE_MAX = 100  # per request
SECONDS_MAX = 60  # per task


@require_POST
def enqueue(request):
    """POST /tasks/enqueue/?n=N&seconds=S: queues N (default 1) jobs.work tasks, each taking S seconds
    (default: the worker's TASK_SECONDS), and answers with their ids."""
    try:
        n = int(request.GET.get("n", "1"))
        seconds = float(request.GET["seconds"]) if "seconds" in request.GET else None
    except ValueError:
        return JsonResponse({"error": "n must be an integer and seconds a number"}, status=400)
    if not 1 <= n <= ENQUEUE_MAX:
        return JsonResponse({"error": f"n must be between 1 and {ENQUEUE_MAX}"}, status=400)
    if seconds is not None and not 0 <= seconds <= SECONDS_MAX:
        return JsonResponse({"error": f"seconds must be between 0 and {SECONDS_MAX}"}, status=400)
    ids = []
    try:
        for _ in range(n):
            ids.append(work.apply_async(kwargs={"source": "web", "seconds": seconds}).id)
    except Exception as e:  # broker unreachable (kombu's OperationalError), or the row's INSERT
        return JsonResponse({"error": "could not queue", "reason": str(e).splitlines()[0], "queued": ids}, status=503)
    return JsonResponse({"queued": ids})


@require_GET
def stats(request):
    """GET /tasks/stats/: how many tasks were queued, started, finished, and run twice, and who finished them."""
    try:
        totals = TaskRun.objects.aggregate(
            queued=Count("id", filter=Q(queued_at__isnull=False)),
            started=Count("id", filter=Q(starts__gt=0)),
            finished=Count("id", filter=Q(finishes__gt=0)),
            unfinished=Count("id", filter=Q(finishes=0)),
            duplicated=Count("id", filter=Q(starts__gt=1) | Q(finishes__gt=1)),
        )
        by = TaskRun.objects.filter(finishes__gt=0).values("finished_by", "finished_release").annotate(n=Count("id"))
        workers = [{"hostname": r["finished_by"], "release": r["finished_release"], "finished": r["n"]} for r in by]
    except DatabaseError as e:
        return JsonResponse({"error": "database error", "reason": str(e).strip().splitlines()[0]}, status=503)
    return JsonResponse(dict(totals, workers=workers))
