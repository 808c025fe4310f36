"""What the rendered overlays must hold beyond their schemas (the issue's requirements).

Each function takes the objects of one overlay and returns the problems found.
"""

from __future__ import annotations

from collections.abc import Iterator

from corridor.kafka import CHARGES_TOPIC, EVENTS_DLQ_TOPIC, EVENTS_TOPIC, SHIPMENTS_TOPIC, TOPICS
from corridor.settings import KafkaSettings
from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.kafka_access import Acl, acls_of, users_match_table
from scripts.deploycheck.settings import service_environment

SERVICES = ("ingest", "tracker", "tariff", "webhooks")
CONSUMERS = ("tracker", "tariff")
# Who reads and who writes what (docs/architecture.md): each KafkaUser gets exactly this.
READS: dict[str, tuple[str, ...]] = {
    "tracker": (EVENTS_TOPIC,),
    "tariff": (EVENTS_TOPIC,),
    "webhooks": (SHIPMENTS_TOPIC, EVENTS_TOPIC),
}
WRITES: dict[str, tuple[str, ...]] = {
    "ingest": (EVENTS_TOPIC,),
    "tracker": (SHIPMENTS_TOPIC, EVENTS_DLQ_TOPIC),
    "tariff": (CHARGES_TOPIC, EVENTS_DLQ_TOPIC),
    "webhooks": (EVENTS_DLQ_TOPIC,),
}


def of_kind(objects: tuple[Object, ...], kind: str) -> list[Object]:
    return [o for o in objects if o.get("kind") == kind]


def named(objects: tuple[Object, ...], kind: str, name: str) -> Object | None:
    return next((o for o in of_kind(objects, kind) if o["metadata"]["name"] == name), None)


def _containers(deployment: Object) -> list[Object]:
    containers: list[Object] = deployment["spec"]["template"]["spec"]["containers"]
    return containers


def workloads(objects: tuple[Object, ...]) -> list[str]:
    """Probes on /readyz and /healthz, requests and limits, a PDB and a Service each."""
    problems = []
    pdbs = of_kind(objects, "PodDisruptionBudget")
    services = of_kind(objects, "Service")
    for deployment in of_kind(objects, "Deployment"):
        name = name_of(deployment)
        labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        for container in _containers(deployment):
            where = f"{name} container {container['name']}"
            problems += _probes(where, container, labels.get("app.kubernetes.io/component"))
            resources = container.get("resources", {})
            for kind, keys in (("requests", ("cpu", "memory")), ("limits", ("memory",))):
                missing = [k for k in keys if k not in resources.get(kind, {})]
                if missing:
                    problems.append(f"{where}: no {kind} for {', '.join(missing)}")
            context = container.get("securityContext", {})
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation is not disabled")
        pod_security = deployment["spec"]["template"]["spec"].get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pods may run as root")
        if not any(_selects(p["spec"].get("selector", {}), labels) for p in pdbs):
            problems.append(f"{name}: no PodDisruptionBudget")
        if not any(
            _selects({"matchLabels": s["spec"].get("selector", {})}, labels) for s in services
        ):
            problems.append(f"{name}: no Service")
    return problems


def _probes(where: str, container: Object, component: str | None) -> list[str]:
    """The services: GET /readyz and /healthz; other workloads (Redis): some probe each."""
    ready, alive = container.get("readinessProbe"), container.get("livenessProbe")
    if component not in SERVICES:
        missing = [kind for kind, probe in (("readiness", ready), ("liveness", alive)) if not probe]
        return [f"{where}: no {kind} probe" for kind in missing]
    problems = []
    if (ready or {}).get("httpGet", {}).get("path") != "/readyz":
        problems.append(f"{where}: readiness probe is not GET /readyz")
    if (alive or {}).get("httpGet", {}).get("path") != "/healthz":
        problems.append(f"{where}: liveness probe is not GET /healthz")
    return problems


def _selects(selector: Object, labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def topics(objects: tuple[Object, ...], production: bool) -> list[str]:
    """A KafkaTopic per topic of corridor.kafka.topics, with its configs; prod replication."""
    problems = []
    clusters = {k["metadata"]["name"] for k in of_kind(objects, "Kafka")}
    for spec in TOPICS:
        topic = named(objects, "KafkaTopic", spec.name)
        if topic is None:
            problems.append(f"KafkaTopic/{spec.name}: missing")
            continue
        where = name_of(topic)
        body = topic["spec"]
        config = {k: str(v) for k, v in body.get("config", {}).items()}
        for key, value in spec.configs.items():
            if config.get(key) != value:
                problems.append(f"{where}: config {key} is not {value}")
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") not in clusters:
            problems.append(f"{where}: strimzi.io/cluster names no Kafka of this overlay")
        replicas, min_isr = body.get("replicas"), int(config.get("min.insync.replicas", 0))
        if not replicas or not body.get("partitions"):
            problems.append(f"{where}: partitions and replicas must be explicit")
        elif production and (replicas != 3 or min_isr != 2):
            problems.append(f"{where}: production needs replicas 3 and min.insync.replicas 2")
        elif not 1 <= min_isr <= replicas:
            problems.append(f"{where}: min.insync.replicas {min_isr} with {replicas} replicas")
    return problems


def kafka_cluster(objects: tuple[Object, ...], production: bool) -> list[str]:
    """KRaft node pools; production: 3 nodes, RF 3, min ISR 2, SCRAM over TLS."""
    problems = []
    for kafka in of_kind(objects, "Kafka"):
        where = name_of(kafka)
        name = kafka["metadata"]["name"]
        pools = [
            p
            for p in of_kind(objects, "KafkaNodePool")
            if p["metadata"].get("labels", {}).get("strimzi.io/cluster") == name
        ]
        roles = {r for p in pools for r in p["spec"]["roles"]}
        if roles != {"broker", "controller"}:
            problems.append(f"{where}: node pools do not provide both KRaft roles")
        spec = kafka["spec"]["kafka"]
        config = spec.get("config", {})
        listeners = spec.get("listeners", [])
        if spec.get("authorization", {}).get("type") != "simple":
            problems.append(f"{where}: ACLs need simple authorization")
        if any(lst.get("authentication", {}).get("type") != "scram-sha-512" for lst in listeners):
            problems.append(f"{where}: every listener must authenticate with SCRAM-SHA-512")
        if production:
            brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
            if brokers < 3:
                problems.append(f"{where}: production needs 3 brokers, has {brokers}")
            expected = {"default.replication.factor": 3, "min.insync.replicas": 2}
            expected |= {"offsets.topic.replication.factor": 3}
            for key, value in expected.items():
                if config.get(key) != value:
                    problems.append(f"{where}: production needs {key} {value}")
            if not listeners or not all(lst.get("tls") for lst in listeners):
                problems.append(f"{where}: production listeners must use TLS")
    return problems


def _expected_acls(reads: tuple[str, ...], writes: tuple[str, ...], group: str | None) -> set[Acl]:
    acls = {("topic", t, "literal", op) for t in reads for op in ("Read", "Describe")}
    acls |= {("topic", t, "literal", op) for t in writes for op in ("Write", "Describe")}
    if group:
        acls |= {("group", group, "literal", op) for op in ("Read", "Describe")}
    return acls


def users(objects: tuple[Object, ...]) -> list[str]:
    """Each service only the topics it reads or writes (as the code does), and every
    KafkaUser exactly what docs/security.md's "Kafka topics by role" gives its row."""
    problems = []
    for service in SERVICES:
        user = named(objects, "KafkaUser", f"corridor-{service}")
        if user is None:
            problems.append(f"KafkaUser/corridor-{service}: missing")
            continue
        group = _env(objects, service).get(f"{service.upper()}_CONSUMER_GROUP")
        expected = _expected_acls(READS.get(service, ()), WRITES[service], group)
        got = acls_of(user)
        for acl in sorted(got - expected):
            problems.append(f"{name_of(user)}: ACL beyond its needs: {acl}")
        for acl in sorted(expected - got):
            problems.append(f"{name_of(user)}: ACL missing: {acl}")
    return problems + users_match_table(objects)


def _env(objects: tuple[Object, ...], service: str) -> dict[str, str]:
    """The environment of a service's container: its ConfigMaps, then its literal env;
    values from Secrets or the pod are placeholders."""
    deployment = named(objects, "Deployment", f"corridor-{service}")
    if deployment is None:
        return {}
    container = _containers(deployment)[0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef", {}).get("name")
        config_map = named(objects, "ConfigMap", ref) if ref else None
        env |= config_map.get("data", {}) if config_map else {}
    for var in container.get("env", []):
        env[var["name"]] = str(var.get("value", f"<{var['name'].lower()}>"))
    return env


def service_settings(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Every variable set is a real setting, and the services accept the values."""
    problems = []
    for service in SERVICES:
        deployment = named(objects, "Deployment", f"corridor-{service}")
        if deployment is None:
            problems.append(f"Deployment/corridor-{service}: missing")
            continue
        where = name_of(deployment)
        found, kafka = service_environment(service, _env(objects, service), where)
        problems += found
        if kafka is None:
            continue
        problems += _kafka_client(where, deployment, kafka, service, production)
    return problems


def _kafka_client(
    where: str, deployment: Object, kafka: KafkaSettings, service: str, production: bool
) -> list[str]:
    problems = []
    if kafka.create_topics:
        problems.append(f"{where}: KAFKA_CREATE_TOPICS must be false (topics are KafkaTopics)")
    if not kafka.enable_idempotence:
        problems.append(f"{where}: the idempotent producer must be on")
    if kafka.sasl_mechanism != "SCRAM-SHA-512" or kafka.sasl_username != f"corridor-{service}":
        problems.append(f"{where}: not SCRAM-SHA-512 as KafkaUser corridor-{service}")
    container = _containers(deployment)[0]
    env: list[Object] = container.get("env", [])
    password: Object = next((v for v in env if v["name"] == "KAFKA_SASL_PASSWORD"), {})
    secret = password.get("valueFrom", {}).get("secretKeyRef", {})
    if (secret.get("name"), secret.get("key")) != (f"corridor-{service}", "password"):
        problems.append(f"{where}: KAFKA_SASL_PASSWORD must come from the KafkaUser's Secret")
    if production:
        if kafka.security_protocol != "SASL_SSL":
            problems.append(f"{where}: production must use SASL_SSL")
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        if not kafka.ssl_cafile or not any(kafka.ssl_cafile.startswith(m + "/") for m in mounts):
            problems.append(f"{where}: KAFKA_SSL_CAFILE is not in a mounted volume")
    return problems


def autoscaling(objects: tuple[Object, ...]) -> list[str]:
    """KEDA scales the consumers on their group's lag, never beyond the partition count."""
    problems = []
    for service in CONSUMERS:
        scaled = named(objects, "ScaledObject", f"corridor-{service}")
        if scaled is None:
            problems.append(f"ScaledObject/corridor-{service}: missing")
            continue
        where = name_of(scaled)
        spec = scaled["spec"]
        target = named(objects, "Deployment", spec["scaleTargetRef"]["name"])
        if target is None:
            problems.append(f"{where}: scales no Deployment of this overlay")
        elif "replicas" in target["spec"]:
            problems.append(f"{where}: {name_of(target)} sets replicas, which KEDA owns")
        group = _env(objects, service).get(f"{service.upper()}_CONSUMER_GROUP")
        for trigger in _kafka_triggers(spec):
            metadata = trigger["metadata"]
            topic = named(objects, "KafkaTopic", metadata.get("topic", ""))
            if metadata.get("consumerGroup") != group:
                problems.append(f"{where}: consumerGroup is not the service's group {group}")
            if topic is None:
                problems.append(f"{where}: topic {metadata.get('topic')} is no KafkaTopic")
            elif spec.get("maxReplicaCount", 100) > topic["spec"]["partitions"]:
                problems.append(
                    f"{where}: maxReplicaCount {spec.get('maxReplicaCount', 100)} is beyond "
                    f"the {topic['spec']['partitions']} partitions of {metadata['topic']}"
                )
            if metadata.get("allowIdleConsumers") == "true":
                problems.append(f"{where}: allowIdleConsumers would scale past the partitions")
            reference = trigger.get("authenticationRef", {}).get("name", "")
            if named(objects, "TriggerAuthentication", reference) is None:
                problems.append(f"{where}: authenticationRef {reference!r} is missing")
            if not str(metadata.get("bootstrapServers", "")).split(":")[0].endswith(".svc"):
                problems.append(f"{where}: KEDA needs the namespace in bootstrapServers")
        if not list(_kafka_triggers(spec)):
            problems.append(f"{where}: no kafka trigger")
    return problems


def _kafka_triggers(spec: Object) -> Iterator[Object]:
    for trigger in spec.get("triggers", []):
        if trigger.get("type") == "kafka":
            yield trigger
