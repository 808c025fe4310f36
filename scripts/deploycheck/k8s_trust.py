"""Trust in the rendered overlays: production mode, the principal registry, the shared
rate-limit store, and who may connect to what (NetworkPolicies, Kafka's listeners)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from corridor.principals import parse_registry
from corridor.topology import load_topology
from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.k8s_rules import SERVICES, _containers, _env, named, of_kind

SERVICE_PODS = {f"corridor-{s}" for s in SERVICES}
NAME = "app.kubernetes.io/name"
# The namespaces allowed in (k8s/base/network-policies.yaml): the ingress controller in
# front of the APIs, and Prometheus.
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
# Pods the Strimzi operator makes, selected by its `strimzi.io/name`, that only Prometheus
# may reach (the Kafka Exporter's metrics: broker-side lag).
STRIMZI_NAME = "strimzi.io/name"
SCRAPED_ONLY = {"corridor-kafka-exporter"}


def trust(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Every service: production mode, its registry from a mounted Secret (production) or
    the development ConfigMap (which accepts no demo key), rate limits in a shared Redis."""
    problems = []
    storages = set()
    for service in SERVICES:
        deployment = named(objects, "Deployment", f"corridor-{service}")
        if deployment is None:
            problems.append(f"Deployment/corridor-{service}: missing")
            continue
        where, prefix = name_of(deployment), service.upper()
        env = _env(objects, service)
        if env.get(f"{prefix}_ENVIRONMENT", "production") != "production":
            problems.append(f"{where}: {prefix}_ENVIRONMENT must be production (the default)")
        volume = _mounted_volume(deployment, env.get(f"{prefix}_PRINCIPALS_FILE", ""))
        if volume is None:
            problems.append(f"{where}: {prefix}_PRINCIPALS_FILE is not in a mounted volume")
        elif production and "secret" not in volume:
            problems.append(f"{where}: production reads {prefix}_PRINCIPALS_FILE from a Secret")
        elif "configMap" in volume:
            problems += _registry_config_map(objects, where, volume["configMap"]["name"])
        elif "secret" not in volume:
            problems.append(f"{where}: the principal registry is neither Secret nor ConfigMap")
        storage = env.get(f"{prefix}_RATE_LIMIT_STORAGE", "memory://")
        storages.add(storage)
        if not storage.startswith(("redis://", "rediss://")):
            problems.append(f"{where}: {prefix}_RATE_LIMIT_STORAGE must be a shared Redis")
            continue
        # A short name is a Service of the namespace; a dotted one lies beyond (managed).
        host = storage.split("://", 1)[1].split("@")[-1].split(":")[0].split("/")[0]
        if "." not in host and named(objects, "Service", host) is None:
            problems.append(f"{where}: rate-limit store {host} is no Service of this overlay")
    if len(storages) > 1:
        problems.append(f"the services count rate limits in different stores: {sorted(storages)}")
    return problems


def _mounted_volume(deployment: Object, path: str) -> Object | None:
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"].get("volumes", [])}
    for mount in _containers(deployment)[0].get("volumeMounts", []):
        if path.startswith(mount["mountPath"].rstrip("/") + "/") and mount["name"] in volumes:
            found: Object = volumes[mount["name"]]
            return found
    return None


def _registry_config_map(objects: tuple[Object, ...], where: str, name: str) -> list[str]:
    config_map = named(objects, "ConfigMap", name)
    if config_map is None:
        return [f"{where}: its registry ConfigMap {name} is not rendered"]
    problems = []
    for key, text in config_map.get("data", {}).items():
        try:
            registry = parse_registry(yaml.safe_load(text), load_topology())
        except ValueError as exc:
            problems.append(f"{name_of(config_map)} {key}: {exc}")
            continue
        if registry.demo_keys_accepted():
            problems.append(f"{name_of(config_map)} {key}: production mode refuses demo keys")
    return problems


# --- NetworkPolicies ---------------------------------------------------------------------


def network_policies(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Default-deny ingress; each Service's port reachable by some policy; the APIs from
    the ingress controller and Prometheus only; the stores from the services only; Kafka
    from the services (its listeners' networkPolicyPeers)."""
    policies = of_kind(objects, "NetworkPolicy")
    problems = []
    if not any(_is_default_deny(p) for p in policies):
        problems.append("no default-deny ingress NetworkPolicy (podSelector {}, no rules)")
    for service in of_kind(objects, "Service"):
        problems += _service_reachable(objects, policies, service)
    for policy in policies:
        problems += _peers_expected(policy)
    problems += _kafka_peers(objects)
    return problems


def _is_default_deny(policy: Object) -> bool:
    spec = policy["spec"]
    return (
        spec.get("podSelector") in ({}, None)
        and "Ingress" in spec.get("policyTypes", [])
        and not spec.get("ingress")
    )


def _pod_labels(objects: tuple[Object, ...], selector: dict[str, str]) -> Iterator[Object]:
    """Pod templates (with their containers) whose labels the Service selector matches."""
    for kind in ("Deployment", "StatefulSet"):
        for workload in of_kind(objects, kind):
            template = workload["spec"]["template"]
            labels = template["metadata"].get("labels", {})
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                yield template


def _target_ports(template: Object, target: Any) -> set[int]:
    if isinstance(target, int):
        return {target}
    return {
        int(port["containerPort"])
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
        if port.get("name") == target
    }


def _selected(selector: Object, labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        operator, values = expression["operator"], expression.get("values", [])
        if operator == "In" and value not in values:
            return False
        if operator == "NotIn" and value in values:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def _allowed_ports(rule: Object, template: Object) -> set[int] | None:
    """The ports a rule opens on these pods (None: every port)."""
    if not rule.get("ports"):
        return None
    ports = set()
    for port in rule["ports"]:
        ports |= _target_ports(template, port.get("port"))
    return ports


def _service_reachable(
    objects: tuple[Object, ...], policies: list[Object], service: Object
) -> list[str]:
    problems = []
    selector = service["spec"].get("selector", {})
    for template in _pod_labels(objects, selector):
        labels = template["metadata"].get("labels", {})
        for port in service["spec"].get("ports", []):
            wanted = _target_ports(template, port.get("targetPort", port["port"]))
            reachable = False
            for policy in policies:
                if _is_default_deny(policy) or not _selected(policy["spec"]["podSelector"], labels):
                    continue
                for rule in policy["spec"].get("ingress", []):
                    allowed = _allowed_ports(rule, template)
                    if rule.get("from") and (allowed is None or wanted & allowed):
                        reachable = True
            if not reachable:
                problems.append(f"{name_of(service)}: port {port['port']} is reached by no policy")
    return problems


def _namespace(peer: Object) -> str | None:
    labels: dict[str, str] = peer.get("namespaceSelector", {}).get("matchLabels", {})
    return labels.get("kubernetes.io/metadata.name")


# Service-to-service calls over HTTP, the only ones besides the ingress and Prometheus:
# the tracker's window reads a shipment's charges from the tariff (docs/window.md).
SERVICE_CALLS: dict[str, frozenset[str]] = {"corridor-tariff": frozenset({"corridor-tracker"})}


def _peer_pods(peer: Object) -> set[str]:
    """The pods of this namespace a peer selects by name (none: it selects otherwise)."""
    if "namespaceSelector" in peer or "ipBlock" in peer or "podSelector" not in peer:
        return set()
    selector = peer["podSelector"]
    names = set()
    for expression in selector.get("matchExpressions", []):
        if expression["key"] == NAME and expression["operator"] == "In":
            names |= set(expression["values"])
    if NAME in selector.get("matchLabels", {}):
        names.add(selector["matchLabels"][NAME])
    return names


def _is_service_peer(peer: Object) -> bool:
    """A peer that selects the services' pods of this namespace, and only those."""
    names = _peer_pods(peer)
    return bool(names) and names <= SERVICE_PODS


def _peers_expected(policy: Object) -> list[str]:
    """The APIs: the ingress controller and Prometheus; any other pod: the services."""
    where = name_of(policy)
    selector = policy["spec"].get("podSelector", {}).get("matchLabels", {})
    if selector.get(STRIMZI_NAME) in SCRAPED_ONLY and NAME not in selector:
        return _scraped_only(policy)
    target = selector.get(NAME)
    if target is None:
        return [] if _is_default_deny(policy) else [f"{where}: selects pods by {NAME} only"]
    problems = []
    seen = set()
    for rule in policy["spec"].get("ingress", []):
        for peer in rule.get("from", []):
            namespace = _namespace(peer)
            seen.add(namespace)
            if target in SERVICE_PODS:
                callers = SERVICE_CALLS.get(target, frozenset())
                if _peer_pods(peer) and _peer_pods(peer) <= callers:
                    continue
                if namespace not in (INGRESS_NAMESPACE, MONITORING_NAMESPACE) or len(peer) != 1:
                    problems.append(f"{where}: {peer} is neither the ingress nor Prometheus")
            elif not _is_service_peer(peer):
                problems.append(f"{where}: {peer} is not the corridor's services")
        if not rule.get("from"):
            problems.append(f"{where}: a rule without `from` lets everyone in")
    if target in SERVICE_PODS:
        for namespace in (INGRESS_NAMESPACE, MONITORING_NAMESPACE):
            if namespace not in seen:
                problems.append(f"{where}: {namespace} cannot reach {target}")
    return problems


def _scraped_only(policy: Object) -> list[str]:
    """A metrics-only pod: Prometheus's namespace and nothing else."""
    where = name_of(policy)
    peers = [peer for rule in policy["spec"].get("ingress", []) for peer in rule.get("from", [])]
    rules = policy["spec"].get("ingress", [])
    if not rules or any(not rule.get("from") for rule in rules):
        return [f"{where}: a rule without `from` lets everyone in"]
    if any(_namespace(peer) != MONITORING_NAMESPACE or len(peer) != 1 for peer in peers):
        return [f"{where}: only Prometheus ({MONITORING_NAMESPACE}) may reach it"]
    return []


def _kafka_peers(objects: tuple[Object, ...]) -> list[str]:
    problems = []
    for kafka in of_kind(objects, "Kafka"):
        for listener in kafka["spec"]["kafka"].get("listeners", []):
            where = f"{name_of(kafka)} listener {listener.get('name')}"
            peers = listener.get("networkPolicyPeers", [])
            if not peers:
                problems.append(f"{where}: no networkPolicyPeers (anyone could connect)")
            elif not any(_is_service_peer(p) for p in peers):
                problems.append(f"{where}: the services are not among its networkPolicyPeers")
            if any(not p or p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for p in peers):
                problems.append(f"{where}: a peer lets every address in")
    return problems
