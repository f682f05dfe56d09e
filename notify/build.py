"""The installation's delivery pipeline, assembled from its settings (what the flows call)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from duban.settings import Settings
from notify.channels import build_transports, office_info
from notify.pipeline import Pipeline, PipelineOptions
from notify.render import Renderer


def build_pipeline(
    settings: Settings,
    engine: Engine,
    *,
    options: PipelineOptions | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Pipeline:
    """The installation's pipeline: transports and templates from the settings."""
    office = office_info(settings)
    opts = options or PipelineOptions(office_email=settings.office_email)
    return Pipeline(
        engine=engine,
        transports=build_transports(settings),
        renderer=Renderer(office, settings.templates_dir),
        options=opts,
        sleep=sleep,
    )
