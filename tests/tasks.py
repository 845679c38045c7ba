"""Tasks for tests that run real worker processes (tests/test_entrypoint.py)."""

import time

from django_tasks import task


@task()
def take_a_moment(number):
    """Long enough that two workers share a queue of these."""
    time.sleep(0.05)
    return number
