"""Prometheus metrics, on a registry of newsbot's own (no process-wide globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class Metrics:
    """The counters the watcher, dispatcher and push API update, and their exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.posts_ingested = Counter(
            "newsbot_posts_ingested", "New posts stored and alerted", ["source"], registry=r
        )
        self.fetch_errors = Counter(
            "newsbot_source_fetch_errors", "Failed source fetches", ["source"], registry=r
        )
        self.fetch_seconds = Histogram(
            "newsbot_fetch_seconds",
            "Time to fetch and parse one source",
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.alerts_sent = Counter(
            "newsbot_alerts_sent", "Alerts delivered", ["platform"], registry=r
        )
        self.alerts_failed = Counter(
            "newsbot_alerts_failed", "Alerts given up on", ["platform"], registry=r
        )
        self.delivery_seconds = Histogram(
            "newsbot_delivery_seconds",
            "From planning an alert to the platform taking it",
            ["platform"],
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.outbox_depth = Gauge(
            "newsbot_outbox_depth", "Outbox rows by state", ["state"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
