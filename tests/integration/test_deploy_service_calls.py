"""Service-to-service calls in the NetworkPolicies: only those the deploy check lists
(``k8s_trust.SERVICE_CALLS``: the tracker's window reads the tariff's charges)."""

from __future__ import annotations

from scripts.deploycheck import k8s_trust
from scripts.deploycheck.k8s import Object
from tests.integration.test_deploy_checks import changed, rendered


def from_pod(name: str) -> Object:
    return {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}


def test_the_tracker_reaches_the_tariff_and_nothing_else_reaches_a_service() -> None:
    objects = rendered("dev")
    tariff = next(
        o
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "corridor-tariff"
    )
    peers = [peer for rule in tariff["spec"]["ingress"] for peer in rule["from"]]
    assert from_pod("corridor-tracker") in peers
    assert k8s_trust.network_policies(objects, production=False) == []

    ingest_calls_tariff = changed(
        objects,
        "NetworkPolicy",
        "corridor-tariff",
        lambda o: o["spec"]["ingress"].append({"from": [from_pod("corridor-ingest")]}),
    )
    tracker_opened_to_tariff = changed(
        objects,
        "NetworkPolicy",
        "corridor-tracker",
        lambda o: o["spec"]["ingress"].append({"from": [from_pod("corridor-tariff")]}),
    )

    assert k8s_trust.network_policies(ingest_calls_tariff, production=False) == [
        "NetworkPolicy/corridor-tariff: {'podSelector': {'matchLabels': "
        "{'app.kubernetes.io/name': 'corridor-ingest'}}} is neither the ingress nor Prometheus"
    ]
    assert k8s_trust.network_policies(tracker_opened_to_tariff, production=False) == [
        "NetworkPolicy/corridor-tracker: {'podSelector': {'matchLabels': "
        "{'app.kubernetes.io/name': 'corridor-tariff'}}} is neither the ingress nor Prometheus"
    ]
