"""KEDA that does not flap: HPA behaviour, a fallback, even partitions, and lag thresholds
sized from the benchmark figures of docs/performance.md (docs/deploy.md, "Scaling").

``autoscaling_behaviour(objects, production)`` returns the problems of one overlay.
"""

from __future__ import annotations

import re

from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.k8s_rules import CONSUMERS, named
from scripts.deploycheck.queries import ROOT

PERFORMANCE = ROOT / "docs" / "performance.md"
# A pod (500m CPU requested, the database shared) is taken to apply a quarter of what one
# process applies on the benchmark machine; lagThreshold is then this many seconds of its
# work. Under 5 s KEDA adds replicas (and rebalances) for lag one replica clears at once;
# over 60 s the freshness SLO (5 s) is long gone before it does.
DERATE = 4
SECONDS_OF_WORK = (5.0, 60.0)
# Stabilisation windows: scaling up may follow lag within a minute, scaling down waits.
MAX_SCALE_UP_WINDOW = 60
MIN_SCALE_DOWN_WINDOW = 300
# The first table of docs/performance.md: "| tracker apply ... | 12,263 events/s ...".
_RATE = {
    "tracker": re.compile(r"^\| tracker apply[^|]*\| ([\d,]+) events/s", re.MULTILINE),
    "tariff": re.compile(r"^\| tariff apply[^|]*\| ([\d,]+) events/s", re.MULTILINE),
}


def benchmark_rate(service: str) -> float:
    """Events per second one process of the service applies, from docs/performance.md."""
    match = _RATE[service].search(PERFORMANCE.read_text())
    if match is None:
        raise LookupError(f"docs/performance.md has no '{service} apply' figure")
    return float(match.group(1).replace(",", ""))


def autoscaling_behaviour(objects: tuple[Object, ...], production: bool) -> list[str]:
    problems = []
    for service in CONSUMERS:
        scaled = named(objects, "ScaledObject", f"corridor-{service}")
        if scaled is None:
            continue  # k8s_rules.autoscaling reports it
        where = name_of(scaled)
        spec = scaled["spec"]
        problems += _behaviour(where, spec)
        problems += _fallback(where, spec, _partitions(objects, spec))
        for trigger in (t for t in spec.get("triggers", []) if t.get("type") == "kafka"):
            metadata = trigger["metadata"]
            if metadata.get("ensureEvenDistributionOfPartitions") != "true":
                problems.append(f"{where}: ensureEvenDistributionOfPartitions is not true")
            problems += _threshold(where, service, metadata.get("lagThreshold", ""))
    return problems


def _behaviour(where: str, spec: Object) -> list[str]:
    problems = []
    if spec.get("minReplicaCount", 0) >= 1 and "cooldownPeriod" in spec:
        problems.append(f"{where}: cooldownPeriod only acts at zero replicas: remove it")
    behaviour = (
        spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {})
    )
    up = behaviour.get("scaleUp", {}).get("stabilizationWindowSeconds")
    down = behaviour.get("scaleDown", {}).get("stabilizationWindowSeconds")
    if up is None or up > MAX_SCALE_UP_WINDOW:
        problems.append(f"{where}: scaleUp needs a stabilizationWindowSeconds of at most 60")
    if down is None or down < MIN_SCALE_DOWN_WINDOW:
        problems.append(f"{where}: scaleDown needs a stabilizationWindowSeconds of 300 or more")
    return problems


def _partitions(objects: tuple[Object, ...], spec: Object) -> int | None:
    for trigger in spec.get("triggers", []):
        topic = named(objects, "KafkaTopic", trigger.get("metadata", {}).get("topic", ""))
        if topic is not None:
            return int(topic["spec"]["partitions"])
    return None


def _fallback(where: str, spec: Object, partitions: int | None) -> list[str]:
    fallback = spec.get("fallback")
    if fallback is None:
        return [f"{where}: no fallback (KEDA unable to read the lag would freeze the replicas)"]
    replicas = fallback.get("replicas", 0)
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if not low <= replicas <= high:
        return [f"{where}: fallback replicas {replicas} outside {low}..{high}"]
    if partitions and partitions % replicas:
        return [f"{where}: fallback replicas {replicas} do not divide {partitions} partitions"]
    return []


def _threshold(where: str, service: str, threshold: str) -> list[str]:
    try:
        lag = float(threshold)
        per_pod = benchmark_rate(service) / DERATE
    except (ValueError, LookupError) as exc:
        return [f"{where}: lagThreshold {threshold!r} cannot be sized: {exc}"]
    seconds = lag / per_pod
    low, high = SECONDS_OF_WORK
    if not low <= seconds <= high:
        return [
            f"{where}: lagThreshold {threshold} is {seconds:.1f} s of a replica's work "
            f"({per_pod:,.0f} events/s); size it to {low:g}-{high:g} s (docs/deploy.md)"
        ]
    return []
