"""Prometheus metrics for one process (``GET /metrics``), behind ``core.ports.Metrics``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from cdnctl.core.model import TaskState

LATENCY_BUCKETS_MS = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class PrometheusMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tasks_finished = Counter(
            "cdnctl_tasks_finished", "Tasks that reached a terminal state, by state",
            ["state"], registry=self.registry)
        self.tasks = Gauge(
            "cdnctl_tasks", "Tasks stored, by state (read from the database at scrape time)",
            ["state"], registry=self.registry)
        self.delivery_latency = Histogram(
            "cdnctl_delivery_attempt_latency_ms", "Latency of one edge attempt in milliseconds",
            ["node"], buckets=LATENCY_BUCKETS_MS, registry=self.registry)
        self.edge_errors = Counter(
            "cdnctl_edge_errors", "Failed edge attempts, by node and error code",
            ["node", "code"], registry=self.registry)
        self.attempts = Counter(
            "cdnctl_delivery_attempts", "Edge attempts, by node and outcome",
            ["node", "outcome"], registry=self.registry)
        self._per_node: dict[str, tuple[Any, Any, Any]] = {}

    def task_finished(self, state: TaskState) -> None:
        self.tasks_finished.labels(state.value).inc()

    def attempt(self, node: str, latency_ms: float, ok: bool, code: str) -> None:
        # One child lookup per node, not per attempt: labels() takes a lock and builds a
        # key, several microseconds on every delivery of a fan-out.
        children = self._per_node.get(node)
        if children is None:
            children = self._per_node[node] = (
                self.delivery_latency.labels(node), self.attempts.labels(node, "ok"),
                self.attempts.labels(node, "error"))
        latency, succeeded, failed = children
        latency.observe(latency_ms)
        if ok:
            succeeded.inc()
        else:
            failed.inc()
            self.edge_errors.labels(node, code).inc()

    def set_task_counts(self, counts: dict[TaskState, int]) -> None:
        for state in TaskState:
            self.tasks.labels(state.value).set(counts.get(state, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
