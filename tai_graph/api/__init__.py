"""The HTTP API: a thin FastAPI edge over one :class:`~tai_graph.engine.Engine`.

``create_app(engine)`` builds an app with its own Prometheus registry; errors become RFC 9457
problems in :mod:`tai_graph.api.problems` and nowhere else. Routers:

* :mod:`~tai_graph.api.routes_system`  ``/healthz``, ``/metrics``, ``/v1/keys``, ``/v1/tenants``
* :mod:`~tai_graph.api.routes_events`  ``/v1/events``, ``/v1/events/{id}``, ``/v1/imports``
* :mod:`~tai_graph.api.routes_ledger`  ``/v1/receipts/…``, ``/v1/audit-trail``, ``/v1/ledger/checkpoint``
* :mod:`~tai_graph.api.routes_sparql`  ``/v1/sparql``
* :mod:`~tai_graph.api.routes_metrics` ``/v1/queries``, ``/v1/kpis``, ``/v1/alerts``, ``/v1/engagement``,
  ``/v1/baselines``, ``/v1/value``, ``/v1/reconciliation``, ``/v1/reports/…``
"""

from __future__ import annotations

from fastapi import FastAPI

from tai_graph import __version__
from tai_graph.api import (
    problems,
    routes_events,
    routes_ledger,
    routes_metrics,
    routes_sparql,
    routes_system,
)
from tai_graph.api.metrics import Metrics, MetricsMiddleware
from tai_graph.engine import Engine


def create_app(engine: Engine) -> FastAPI:
    """The API app for ``engine``. The engine stays the caller's to close."""
    app = FastAPI(
        title="TAI Graph",
        version=__version__,
        description="SHACL-validated events, signed hash-chained receipts and a read-only SPARQL endpoint.",
        default_response_class=problems.ApiJSONResponse,
    )
    app.state.engine = engine
    app.state.metrics = metrics = Metrics()
    problems.install(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for module in (routes_system, routes_events, routes_ledger, routes_sparql, routes_metrics):
        app.include_router(module.router)
    return app


__all__ = ["create_app"]
