"""Reading metric names out of the dashboards' and the alerts' PromQL (no tools needed)."""

from __future__ import annotations

from scripts.deploycheck.queries import (
    Query,
    dashboard_queries,
    exposed_by_services,
    exposed_family,
    metric_names,
    rule_queries,
)


def test_metric_names_skip_functions_keywords_labels_and_durations() -> None:
    expr = """
        histogram_quantile(0.9, sum by (node, le) (
            rate(corridor_tracker_dwell_seconds_bucket{kind="border", node!~"a|b"}[$window])
        )) / on (node) group_left max by (node) (corridor_tracker_section_target_seconds)
        > 86400
        and sum(x_total unless x_total offset 5m) > bool 0
        or vector(1)
    """

    assert metric_names(expr) == {
        "corridor_tracker_dwell_seconds_bucket",
        "corridor_tracker_section_target_seconds",
        "x_total",
    }


def test_metric_names_ignore_words_inside_label_values() -> None:
    assert metric_names('sum(rate(http_total{route!~"/healthz|sum"}[5m]))') == {"http_total"}


def test_grafana_variables_become_durations_for_promtool() -> None:
    query = Query("x", "rate(a_total[$__rate_interval]) + rate(b_total[${window}])")
    assert query.promql == "rate(a_total[5m]) + rate(b_total[5m])"


def test_counter_and_histogram_series_belong_to_their_families() -> None:
    types = {"requests": "counter", "latency_seconds": "histogram", "lag": "gauge"}

    assert exposed_family("requests_total", types) == "requests"
    assert exposed_family("latency_seconds_bucket", types) == "latency_seconds"
    assert exposed_family("latency_seconds_count", types) == "latency_seconds"
    assert exposed_family("lag", types) == "lag"


def test_series_a_family_never_has_are_not_exposed() -> None:
    types = {"requests": "counter", "latency_seconds": "histogram", "lag": "gauge"}

    assert exposed_family("requests", types) is None
    assert exposed_family("latency_seconds", types) is None
    assert exposed_family("lag_total", types) is None
    assert exposed_family("missing_total", types) is None


def test_every_dashboard_and_every_rule_are_read() -> None:
    sources = {q.source.split(":")[0] for q in dashboard_queries()}
    rules = list(rule_queries())

    assert sources >= {"corridor.json", "services.json", "operations.json"}
    assert {q.source.split("/")[-1] for q in rules} >= {
        "CorridorConsumerLagGrowing",
        "CorridorDeadLetters",
        "CorridorIngestServerErrors",
        "CorridorBorderDwellOverThreshold",
        "CorridorConsumerNoProgress",
        "CorridorIngestAvailabilityBudgetBurn",
    }


def test_metrics_of_other_exporters_and_recording_rules_are_not_asked_of_the_services() -> None:
    assert exposed_by_services("corridor_ingest_http_requests_total")
    assert exposed_by_services("process_resident_memory_bytes")
    assert not exposed_by_services("up")
    assert not exposed_by_services("kafka_consumergroup_lag")
    assert not exposed_by_services("kube_pod_container_resource_limits")
    assert not exposed_by_services("corridor:slo_freshness:error_ratio_rate1h")
