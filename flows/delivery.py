"""The tick's delivery step: one long-lived pipeline per process (transports keep their rate limits)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from functools import lru_cache

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.context import flow_context
from flows.runner import run_task
from flows.tick import Delivered
from notify.notice import Notice
from notify.pipeline import Pipeline, build_pipeline

log = logging.getLogger("duban.delivery")


@lru_cache(maxsize=1)
def pipeline() -> Pipeline:
    """The process's delivery pipeline, built from the settings once."""
    ctx = flow_context()
    return build_pipeline(ctx.send, ctx.engine)


# Retries happen inside the pipeline, per message, never here; and never a cached or persisted
# result: a cached "deliver" would report a delivery that was never made.
@task(name="deliver", retries=0, cache_policy=NO_CACHE, persist_result=False)
def deliver_task(
    notices: list[Notice], now: datetime, stop: threading.Event | None = None
) -> Delivered:
    """Deliver grouped notices; per obligation "sent", "retry" or "failed", and the counts."""
    report = pipeline().deliver(notices, now=now, stop=stop)
    log.info("%s", report.summary())
    return Delivered(report.by_obligation(), report.counts())


def deliver_notices(
    notices: list[Notice], now: datetime, stop: threading.Event | None = None
) -> Delivered:
    """Deliver through the pipeline (as a Prefect task when a Prefect API is configured)."""
    result: Delivered = run_task(deliver_task, notices, now, stop)
    return result


def reset_pipeline() -> None:
    """Forget the cached pipeline (tests change settings between runs)."""
    pipeline.cache_clear()
