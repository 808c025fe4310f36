"""The Kafka cluster as the Strimzi operator runs it, and where every pod may be scheduled.

Each function takes the objects of one rendered overlay (and whether it is production) and
returns the problems found. What they hold is written in k8s/base/kafka/cluster.yaml and
docs/deploy.md ("Kafka", "Placement").
"""

from __future__ import annotations

import re

import yaml

from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.k8s_rules import CONSUMERS, named, of_kind
from scripts.deploycheck.queries import ROOT

# The Kafka versions of the operator the manifests are written for (Strimzi 1.1, its
# kafka-versions.yaml), with the KRaft metadata version each one defaults to. An operator
# refuses a version it does not list: change this with the operator.
STRIMZI = "1.1"
SUPPORTED_KAFKA = {"4.2.0": "4.2-IV1", "4.2.1": "4.2-IV1", "4.3.0": "4.3-IV0"}
# Ignored by Strimzi since 0.48 (KRaft and node pools are always on): leaving them misleads.
OBSOLETE_ANNOTATIONS = ("strimzi.io/kraft", "strimzi.io/node-pools")
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
_METADATA_VERSION = re.compile(r"^(\d+)\.(\d+)-IV(\d+)$")


def kafka_version(objects: tuple[Object, ...], production: bool) -> list[str]:
    """A version the operator supports, metadataVersion pinned (never past the version), no
    obsolete annotation, broker metrics and the Kafka Exporter for broker-side lag."""
    problems = []
    for kafka in of_kind(objects, "Kafka"):
        where = name_of(kafka)
        annotations = kafka["metadata"].get("annotations", {})
        for annotation in OBSOLETE_ANNOTATIONS:
            if annotation in annotations:
                problems.append(f"{where}: {annotation} is ignored since Strimzi 0.48: remove it")
        spec = kafka["spec"]["kafka"]
        version = str(spec.get("version", ""))
        if version not in SUPPORTED_KAFKA:
            problems.append(
                f"{where}: Kafka {version or '(unset)'} is not supported by Strimzi {STRIMZI} "
                f"({', '.join(SUPPORTED_KAFKA)})"
            )
        problems += _metadata_version(where, version, str(spec.get("metadataVersion", "")))
        problems += _metrics_config(where, objects, spec.get("metricsConfig") or {})
        problems += _exporter(where, kafka["spec"].get("kafkaExporter"))
    return problems


def _metadata_version(where: str, version: str, metadata: str) -> list[str]:
    match = _METADATA_VERSION.match(metadata)
    if not match:
        return [f"{where}: metadataVersion must be pinned (like 4.2-IV1), is {metadata!r}"]
    metadata_minor = tuple(map(int, match.groups()[:2]))
    if version in SUPPORTED_KAFKA and metadata_minor > tuple(map(int, version.split(".")[:2])):
        return [f"{where}: metadataVersion {metadata} is newer than Kafka {version}"]
    return []


def _metrics_config(where: str, objects: tuple[Object, ...], config: Object) -> list[str]:
    """Broker metrics from a JMX exporter config that exists and exports the alerts' gauges."""
    if config.get("type") != "jmxPrometheusExporter":
        return [f"{where}: no metricsConfig of type jmxPrometheusExporter for the brokers"]
    reference = config.get("valueFrom", {}).get("configMapKeyRef", {})
    config_map = named(objects, "ConfigMap", reference.get("name", ""))
    text = (config_map or {}).get("data", {}).get(reference.get("key", ""))
    if not text:
        return [f"{where}: metricsConfig names no key of a ConfigMap of this overlay"]
    patterns = " ".join(r.get("pattern", "") for r in yaml.safe_load(text).get("rules", []))
    missing = [
        m for m in ("UnderReplicatedPartitions", "OfflinePartitionsCount") if m not in patterns
    ]
    return [f"{where}: the broker metrics do not export {m}" for m in missing]


def _exporter(where: str, exporter: Object | None) -> list[str]:
    """The Kafka Exporter, watching the consumers' groups (lag measured by the brokers)."""
    if exporter is None:
        return [f"{where}: no kafkaExporter (consumer lag must come from the broker side)"]
    group_regex = re.compile(str(exporter.get("groupRegex", ".*")))
    unwatched = [c for c in CONSUMERS if not group_regex.fullmatch(f"corridor-{c}")]
    return [f"{where}: the Kafka Exporter does not watch group corridor-{c}" for c in unwatched]


def kafka_placement(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Production: rack awareness by zone, never two Kafka nodes on one host, spread over
    zones; Cruise Control configured exactly when docs/deploy.md says it is."""
    problems = []
    for kafka in of_kind(objects, "Kafka"):
        where = name_of(kafka)
        documented = "Cruise Control" in (ROOT / "docs" / "deploy.md").read_text()
        if documented and production and "cruiseControl" not in kafka["spec"]:
            problems.append(f"{where}: docs/deploy.md uses Cruise Control, which is not configured")
        if not production:
            continue
        if kafka["spec"]["kafka"].get("rack", {}).get("topologyKey") != ZONE:
            problems.append(f"{where}: production needs rack awareness (rack.topologyKey {ZONE})")
        cluster = kafka["metadata"]["name"]
        for pool in of_kind(objects, "KafkaNodePool"):
            if pool["metadata"].get("labels", {}).get("strimzi.io/cluster") == cluster:
                problems += _pool_placement(name_of(pool), pool["spec"].get("template", {}))
    return problems


def _pool_placement(where: str, template: Object) -> list[str]:
    pod = template.get("pod", {})
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    required = anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    problems = []
    if not any(term.get("topologyKey") == HOST for term in required):
        problems.append(f"{where}: production needs required pod anti-affinity on {HOST}")
    spread = pod.get("topologySpreadConstraints", [])
    if not any(c.get("topologyKey") == ZONE and c.get("maxSkew") == 1 for c in spread):
        problems.append(f"{where}: production needs a topology spread over {ZONE}")
    return problems


def service_placement(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Every corridor Deployment that serves traffic (probes on /readyz) spreads its pods by
    zone and by host; production requires both (DoNotSchedule). Data-driven: a new
    service is covered as soon as it is rendered."""
    problems = []
    for deployment in of_kind(objects, "Deployment"):
        if not _is_service(deployment):
            continue
        where = name_of(deployment)
        spec = deployment["spec"]["template"]["spec"]
        constraints = {c.get("topologyKey"): c for c in spec.get("topologySpreadConstraints", [])}
        labels = deployment["spec"]["selector"].get("matchLabels", {})
        for key in (ZONE, HOST):
            constraint = constraints.get(key)
            if constraint is None:
                problems.append(f"{where}: no topology spread over {key}")
                continue
            if constraint.get("labelSelector", {}).get("matchLabels") != labels:
                problems.append(f"{where}: the spread over {key} does not select its own pods")
            if production and constraint.get("whenUnsatisfiable") != "DoNotSchedule":
                problems.append(f"{where}: production requires the spread over {key}")
    return problems


def _is_service(deployment: Object) -> bool:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return any(
        (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") == "/readyz"
        for c in containers
    )
