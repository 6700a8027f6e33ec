"""PromQL building blocks: series selectors scoped to one RayService, tolerant of Ray's counter-name drift.

Ray exports counters with a `_total` suffix (Ray 2.60: `ray_serve_num_http_requests_total`) where older releases did
not; `counter(...)` matches both through `__name__`, so a rule keeps working across the blue/green upgrade from one
Ray version to the next. Histograms (`_bucket`) and gauges have kept their names.
"""

from __future__ import annotations

from collections.abc import Iterable

from rayctl.monitoring.scrape import CLUSTER_LABEL, RAYSERVICE_LABEL

GROUP = f"namespace, {RAYSERVICE_LABEL}, {CLUSTER_LABEL}"
"""The labels every rule aggregates by: one alert per RayService and Ray cluster (blue and green apart)."""


def scope(name: str, namespace: str | None) -> list[str]:
    """Label matchers of one RayService's series (the namespace only when the spec names one)."""
    matchers = [f'{RAYSERVICE_LABEL}="{name}"']
    if namespace:
        matchers.append(f'namespace="{namespace}"')
    return matchers


def series(metric: str, matchers: Iterable[str]) -> str:
    """`metric{m1,m2}` for a gauge or histogram series."""
    return f"{metric}{{{','.join(matchers)}}}"


def counter(metric: str, matchers: Iterable[str]) -> str:
    """A counter by its base name, with or without `_total`: `{__name__=~"metric(_total)?",m1,...}`."""
    base = metric.removesuffix("_total")
    return "{" + ",".join([f'__name__=~"{base}(_total)?"', *matchers]) + "}"
