"""One table the releases disagree about, so rollouts have a schema change to get right:
v1 has path and created_at; v2 adds a nullable user_agent (expand: v1 keeps working against it);
v3 drops it again (contract: breaks v2 replicas that are still running)."""
from django.db import models

# Written by the Dockerfile next to the migrations it keeps (1, 2 or 3); absent when the app runs
# from a source tree, which then has all migrations and is the newest release.
try:
    from .schema import SCHEMA
except ImportError:
    SCHEMA = 3


class Visit(models.Model):
    path = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    if SCHEMA == 2:
        user_agent = models.CharField(max_length=300, null=True, blank=True)
