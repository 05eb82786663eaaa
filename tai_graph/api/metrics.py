"""Prometheus metrics of one app, in the app's own registry (never the process-global one).

Labels are route templates (``/v1/receipts/{event_id}``), never raw paths, customer ids or event
ids, so the series stay few and ``/metrics`` reveals no customer data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"


class Metrics:
    """The app's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tai_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tai_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.events = Counter(
            "tai_events_ingested",
            "Events submitted over HTTP, by outcome (created, duplicate, conflict, invalid, rejected).",
            ["status"],
            registry=self.registry,
        )
        self.sparql = Counter(
            "tai_sparql_queries",
            "SPARQL endpoint queries by outcome (ok or the problem code).",
            ["outcome"],
            registry=self.registry,
        )

    def count_events(self, statuses: Iterable[str]) -> None:
        for status in statuses:
            self.events.labels(status=status).inc()


def get_metrics(request: Request) -> Metrics:
    """The app's :class:`Metrics`."""
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``<unmatched>``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request (also the ones that end in a problem)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(time.perf_counter() - start)


__all__ = ["Metrics", "MetricsDep", "MetricsMiddleware", "get_metrics", "route_template"]
