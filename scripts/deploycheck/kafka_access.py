"""Kafka access by role: the table of docs/security.md against the KafkaUsers of k8s/.

The section "Kafka topics by role" holds one Markdown table: a row per role (and per service
user), a column per topic whose cells say ``Read`` or ``Write`` (each implies ``Describe``)
or ``—``, and the consumer groups. Every KafkaUser an overlay renders must be the user of
exactly one row and hold exactly that row's ACLs; every row that names a user has one; no
KafkaUser carries a role whose row says it gets none. So the docs and the ACLs cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from corridor.kafka import TOPICS
from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.queries import ROOT

SECURITY_DOC = ROOT / "docs" / "security.md"
SECTION = "## Kafka topics by role"
ROLE_LABEL = "corridor.io/role"
NONE = {"", "—", "-", "none"}

Acl = tuple[str, str, str, str]  # resource type, name, pattern type, operation


@dataclass(frozen=True)
class Grant:
    """One row: who (a literal user name or a ``<role>-<name>`` template) may do what."""

    role: str
    user: str | None  # ``corridor-ingest``, ``partner-<name>``; None: no Kafka access
    topics: dict[str, tuple[str, ...]]  # topic -> operations (Read/Write)
    group: str | None  # ``corridor-tracker`` (literal) or ``<user>-`` (prefix); None

    @property
    def template(self) -> bool:
        return self.user is not None and self.user.endswith("-<name>")

    def matches(self, user: Object) -> bool:
        name = str(user["metadata"]["name"])
        if self.user is None:
            return False
        if not self.template:
            return name == self.user
        role = user["metadata"].get("labels", {}).get(ROLE_LABEL)
        return role == self.role and name.startswith(self.user.removesuffix("<name>"))

    def acls(self, user_name: str) -> set[Acl]:
        acls = {
            ("topic", topic, "literal", op)
            for topic, operations in self.topics.items()
            for op in (*operations, "Describe")
        }
        if self.group == "<prefix>":
            acls |= {("group", f"{user_name}-", "prefix", op) for op in ("Read", "Describe")}
        elif self.group:
            acls |= {("group", self.group, "literal", op) for op in ("Read", "Describe")}
        return acls


class TableError(ValueError):
    pass


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def grants(path: Path = SECURITY_DOC) -> list[Grant]:
    """The rows of the table under ``## Kafka topics by role``."""
    text = path.read_text(encoding="utf-8")
    if SECTION not in text:
        raise TableError(f"{path.name}: no section {SECTION!r}")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.lstrip().startswith("|")]
    if len(lines) < 3:
        raise TableError(f"{path.name}: no table under {SECTION!r}")
    header = [_plain(c) for c in _cells(lines[0])]
    if header[:2] != ["role", "Kafka user"] or header[-1] != "consumer groups":
        raise TableError(f"{path.name}: the columns must be role, Kafka user, topics..., groups")
    topics = header[2:-1]
    expected = sorted(t.name for t in TOPICS)
    if sorted(topics) != expected:
        raise TableError(f"{path.name}: the topic columns are not the topics {expected}")
    rows = []
    for line in lines[2:]:
        cells = _cells(line)
        if len(cells) != len(header):
            raise TableError(f"{path.name}: row {line.strip()!r} has {len(cells)} cells")
        role, user, group = _plain(cells[0]), _plain(cells[1]), _plain(cells[-1])
        operations: dict[str, tuple[str, ...]] = {}
        for topic, cell in zip(topics, cells[2:-1], strict=True):
            ops = tuple(o for o in re.split(r"[\s,]+", _plain(cell)) if o.lower() not in NONE)
            unknown = set(ops) - {"Read", "Write"}
            if unknown:
                raise TableError(f"{path.name}: {role}/{topic}: unknown operations {unknown}")
            if ops:
                operations[topic] = ops
        has_user = user.lower() not in NONE and not user.lower().startswith("none")
        if not has_user and operations:
            raise TableError(f"{path.name}: {role} has topics but no Kafka user")
        rows.append(Grant(role, user if has_user else None, operations, _group(group, user)))
    return rows


def _group(cell: str, user: str) -> str | None:
    """``<user>-*`` is a prefix (the ``<prefix>`` marker); a plain name a literal group."""
    if cell.lower() in NONE or cell.lower().startswith("none"):
        return None
    if cell.endswith("-*"):
        if cell.removesuffix("-*") != user:
            raise TableError(f"consumer groups {cell!r} must be the user's name and -*")
        return "<prefix>"
    return cell


def acls_of(user: Object) -> set[Acl]:
    found: set[Acl] = set()
    for acl in user["spec"].get("authorization", {}).get("acls", []):
        if acl.get("type", "allow") != "allow":
            continue
        resource = acl["resource"]
        for operation in acl.get("operations", []):
            pattern = resource.get("patternType", "literal")
            found.add((resource["type"], resource.get("name", ""), pattern, operation))
    return found


def users_match_table(objects: tuple[Object, ...], path: Path = SECURITY_DOC) -> list[str]:
    try:
        table = grants(path)
    except (OSError, TableError) as exc:
        return [str(exc)]
    problems = []
    users = [o for o in objects if o.get("kind") == "KafkaUser"]
    for user in users:
        where = name_of(user)
        rows = [g for g in table if g.matches(user)]
        if len(rows) != 1:
            role = user["metadata"].get("labels", {}).get(ROLE_LABEL)
            problems.append(
                f"{where} (role {role}): the user of {len(rows)} rows of {path.name}'s "
                f"{SECTION!r}; name it after its row (`<role>-<name>`, labelled {ROLE_LABEL})"
            )
            continue
        if user["spec"].get("authentication", {}).get("type") != "scram-sha-512":
            problems.append(f"{where}: not SCRAM-SHA-512")
        expected, got = rows[0].acls(user["metadata"]["name"]), acls_of(user)
        for acl in sorted(got - expected):
            problems.append(f"{where}: ACL beyond {path.name} ({rows[0].role}): {acl}")
        for acl in sorted(expected - got):
            problems.append(f"{where}: ACL missing for {path.name} ({rows[0].role}): {acl}")
    for grant in table:
        if grant.user is not None and not any(grant.matches(u) for u in users):
            problems.append(f"{path.name}: no KafkaUser for the row {grant.role} ({grant.user})")
        if grant.user is None:
            labelled = [
                name_of(u)
                for u in users
                if u["metadata"].get("labels", {}).get(ROLE_LABEL) == grant.role
            ]
            problems += [f"{n}: role {grant.role} gets no Kafka access" for n in labelled]
    return problems
