"""KEDA that does not flap: both overlays pass, and each fault is caught: the old
configuration (cooldownPeriod, no behaviour, no fallback, a 2,000-record threshold), a
fallback the partitions cannot share evenly, uneven partitions. And the release's images,
which production names by digest."""

from __future__ import annotations

import pytest

from scripts.deploycheck import k8s_images, k8s_scaling
from scripts.deploycheck.k8s import Object
from tests.integration.test_deploy_checks import changed, rendered

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_both_overlays_scale_without_flapping(overlay: str) -> None:
    assert k8s_scaling.autoscaling_behaviour(rendered(overlay), overlay == "prod") == []


def trigger(scaled: Object) -> Object:
    metadata: Object = scaled["spec"]["triggers"][0]["metadata"]
    return metadata


def test_the_old_scaled_object_is_caught() -> None:
    def old(scaled: Object) -> None:
        spec = scaled["spec"]
        spec["cooldownPeriod"] = 300
        spec.pop("advanced")
        spec.pop("fallback")
        trigger(scaled)["lagThreshold"] = "2000"
        trigger(scaled).pop("ensureEvenDistributionOfPartitions")

    objects = changed(rendered("prod"), "ScaledObject", "corridor-tracker", old)
    replica = k8s_scaling.benchmark_rate("tracker") / k8s_scaling.DERATE
    seconds = 2000 / replica

    assert k8s_scaling.autoscaling_behaviour(objects, True) == [
        "ScaledObject/corridor-tracker: cooldownPeriod only acts at zero replicas: remove it",
        "ScaledObject/corridor-tracker: scaleUp needs a stabilizationWindowSeconds of at most 60",
        "ScaledObject/corridor-tracker: scaleDown needs a stabilizationWindowSeconds of 300 or "
        "more",
        "ScaledObject/corridor-tracker: no fallback (KEDA unable to read the lag would freeze "
        "the replicas)",
        "ScaledObject/corridor-tracker: ensureEvenDistributionOfPartitions is not true",
        f"ScaledObject/corridor-tracker: lagThreshold 2000 is {seconds:.1f} s of a replica's "
        f"work ({replica:,.0f} events/s); size it to 5-60 s (docs/deploy.md)",
    ]


def test_a_fallback_the_partitions_cannot_share_evenly_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "ScaledObject",
        "corridor-tariff",
        lambda s: s["spec"]["fallback"].update(replicas=5),
    )

    assert k8s_scaling.autoscaling_behaviour(objects, True) == [
        "ScaledObject/corridor-tariff: fallback replicas 5 do not divide 12 partitions"
    ]


def test_the_thresholds_follow_the_benchmark_figures() -> None:
    assert k8s_scaling.benchmark_rate("tracker") > k8s_scaling.benchmark_rate("tariff")
    for service, scaled in (("tracker", "corridor-tracker"), ("tariff", "corridor-tariff")):
        objects = rendered("prod")
        threshold = next(
            float(trigger(o)["lagThreshold"])
            for o in objects
            if o["kind"] == "ScaledObject" and o["metadata"]["name"] == scaled
        )
        seconds = threshold / (k8s_scaling.benchmark_rate(service) / k8s_scaling.DERATE)
        assert 15 <= seconds <= 20, (service, seconds)


def test_prod_names_the_release_images_by_digest_and_a_tag_is_caught() -> None:
    objects = rendered("prod")
    assert k8s_images.release_images(objects, True) == []

    def tagged(deployment: Object) -> None:
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "reg/ingest:0.1.0"

    objects = changed(objects, "Deployment", "corridor-ingest", tagged)

    assert k8s_images.release_images(objects, True) == [
        "Deployment/corridor-ingest container ingest: image 'reg/ingest:0.1.0' is not by digest "
        "(<name>@sha256:<digest>)"
    ]
