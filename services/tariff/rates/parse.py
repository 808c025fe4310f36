"""Rate card validation: a raw mapping (parsed YAML) in, a ``RateCard`` or a ``CardError``
naming the file and the field out. Strict on purpose: an unknown key, a missing unit or a
negative amount is an error, never a silently wrong price."""

from __future__ import annotations

from typing import Any

from corridor.topology import Topology
from services.tariff.rates.card import (
    CONTAINER_TYPES,
    STORAGE_KINDS,
    UNITS,
    DiscountRule,
    OverweightRule,
    RailRate,
    RateCard,
    SegmentKey,
    StorageOverride,
    StorageRule,
    UnitRates,
    segment_key,
)
from services.tariff.rates.fields import TOP, CardError, FieldReader

__all__ = ["CardError", "parse_card"]

TOP_LEVEL = {
    "version",
    "example",
    "description",
    "valid_from",
    "valid_to",
    "currency",
    "rail",
    "ferry",
    "handling",
    "surcharges",
    "discounts",
}


def parse_card(raw: Any, source: str, topology: Topology) -> RateCard:
    """Validate one card against the corridor's topology."""
    return _Reader(source, topology).card(raw)


class _Reader(FieldReader):
    def card(self, raw: Any) -> RateCard:
        top = self.mapping(raw, TOP, TOP_LEVEL, {"version", "valid_from", "currency"})
        version = top["version"]
        if not isinstance(version, str) or not version.strip():
            self.fail("version", "must be a non-empty string (quote it in YAML)")
        example = top.get("example", False)
        if not isinstance(example, bool):
            self.fail("example", "must be true or false")
        description = top.get("description", "")
        if not isinstance(description, str):
            self.fail("description", "must be a string")
        valid_from = self.date(top["valid_from"], "valid_from")
        valid_to = None
        if top.get("valid_to") is not None:
            valid_to = self.date(top["valid_to"], "valid_to")
            if valid_to <= valid_from:
                self.fail("valid_to", f"must be after valid_from ({valid_from.isoformat()})")
        surcharges = self.mapping(
            top.get("surcharges", {}), "surcharges", {"overweight", "storage"}, set()
        )
        card = RateCard(
            version=version.strip(),
            source=self.source,
            example=example,
            description=description.strip(),
            valid_from=valid_from,
            valid_to=valid_to,
            currency=self.currency(top["currency"]),
            rail=self.rail(top.get("rail", [])),
            ferry=self.ferry(top.get("ferry", [])),
            handling=self.handling(top.get("handling", [])),
            overweight=self.overweight(surcharges["overweight"])
            if "overweight" in surcharges
            else None,
            storage=self.storage(surcharges["storage"]) if "storage" in surcharges else None,
            discounts=self.discounts(top.get("discounts", [])),
        )
        if not (card.rail or card.ferry or card.handling):
            self.fail("rail", "a card needs at least one rail, ferry or handling component")
        return card

    # -- components -------------------------------------------------------------------

    def rail(self, raw: Any) -> dict[str, RailRate]:
        result: dict[str, RailRate] = {}
        for index, item in enumerate(self.sequence(raw, "rail")):
            path = f"rail[{index}]"
            entry = self.mapping(
                item, path, {"operator", "section", "per_km", "segments"}, {"operator", "section"}
            )
            operator = self.operator(entry["operator"], f"{path}.operator")
            if operator in result:
                self.fail(f"{path}.operator", f"{operator} has a rail component already")
            section = self.section(entry["section"], f"{path}.section")
            country = self.topology.operators[operator].country
            if section != country:
                self.fail(
                    f"{path}.section", f"{section} is not the section of {operator} ({country})"
                )
            if "per_km" not in entry and "segments" not in entry:
                self.fail(path, "needs per_km, segments or both")
            per_km = self.rates(entry["per_km"], f"{path}.per_km") if "per_km" in entry else None
            segments: dict[SegmentKey, UnitRates] = {}
            for s_index, seg_raw in enumerate(self.sequence(entry.get("segments", []), path)):
                s_path = f"{path}.segments[{s_index}]"
                key, rates = self.segment_rates(seg_raw, s_path, "RAIL", operator)
                if key in segments:
                    self.fail(s_path, "segment listed twice")
                segments[key] = rates
            result[operator] = RailRate(operator, section, per_km, segments)
        return result

    def ferry(self, raw: Any) -> dict[SegmentKey, UnitRates]:
        result: dict[SegmentKey, UnitRates] = {}
        for index, item in enumerate(self.sequence(raw, "ferry")):
            path = f"ferry[{index}]"
            key, rates = self.segment_rates(item, path, "VESSEL", None)
            if key in result:
                self.fail(path, "crossing listed twice")
            result[key] = rates
        return result

    def segment_rates(
        self, raw: Any, path: str, mode: str, operator: str | None
    ) -> tuple[SegmentKey, UnitRates]:
        entry = self.mapping(
            raw, path, {"from", "to", "operator", "rates"}, {"from", "to", "rates"}
        )
        a = self.node(entry["from"], f"{path}.from")
        b = self.node(entry["to"], f"{path}.to")
        segment = self.topology.segment(a, b)
        if segment is None:
            self.fail(path, f"no segment {a}-{b} in the corridor topology")
        if segment.mode != mode:
            self.fail(path, f"segment {a}-{b} is {segment.mode}, not {mode}")
        expected = operator or segment.operator
        if "operator" in entry:
            named = self.operator(entry["operator"], f"{path}.operator")
            if named != segment.operator:
                self.fail(f"{path}.operator", f"{a}-{b} is operated by {segment.operator}")
        if segment.operator != expected:
            self.fail(path, f"{a}-{b} is operated by {segment.operator}, not {expected}")
        return segment_key(a, b), self.rates(entry["rates"], f"{path}.rates")

    def handling(self, raw: Any) -> dict[str, UnitRates]:
        result: dict[str, UnitRates] = {}
        for index, item in enumerate(self.sequence(raw, "handling")):
            path = f"handling[{index}]"
            entry = self.mapping(item, path, {"node", "rates"}, {"node", "rates"})
            code = self.node(entry["node"], f"{path}.node")
            if not self.topology.nodes[code].is_port:
                self.fail(f"{path}.node", f"{code} is not a port")
            if code in result:
                self.fail(f"{path}.node", f"{code} listed twice")
            result[code] = self.rates(entry["rates"], f"{path}.rates")
        return result

    # -- surcharges and discounts -----------------------------------------------------

    def overweight(self, raw: Any) -> OverweightRule:
        path = "surcharges.overweight"
        keys = {"operator", "limits_kg", "per_tonne"}
        entry = self.mapping(raw, path, keys, keys)
        limits_raw = self.mapping(entry["limits_kg"], f"{path}.limits_kg", set(UNITS), set())
        for unit in CONTAINER_TYPES:
            if unit not in limits_raw:
                self.fail(f"{path}.limits_kg.{unit}", "missing: every container type needs one")
        limits = {
            unit: self.amount(value, f"{path}.limits_kg.{unit}")
            for unit, value in limits_raw.items()
        }
        return OverweightRule(
            operator=self.operator(entry["operator"], f"{path}.operator"),
            limits_kg=limits,
            per_tonne=self.amount(entry["per_tonne"], f"{path}.per_tonne"),
        )

    def storage(self, raw: Any) -> StorageRule:
        path = "surcharges.storage"
        entry = self.mapping(raw, path, {"free_days", "per_day", "nodes"}, {"free_days", "per_day"})
        free_raw = self.mapping(
            entry["free_days"], f"{path}.free_days", set(STORAGE_KINDS), set(STORAGE_KINDS)
        )
        free = {kind: self.days(free_raw[kind], f"{path}.free_days.{kind}") for kind in free_raw}
        nodes: dict[str, StorageOverride] = {}
        for code_raw, override_raw in self.mapping(
            entry.get("nodes", {}), f"{path}.nodes", None, set()
        ).items():
            n_path = f"{path}.nodes.{code_raw}"
            code = self.node(code_raw, n_path)
            node = self.topology.nodes[code]
            if not (node.is_port or node.is_border):
                self.fail(n_path, f"{code} is neither a port nor a border crossing")
            override = self.mapping(override_raw, n_path, {"free_days", "per_day"}, set())
            if not override:
                self.fail(n_path, "needs free_days, per_day or both")
            nodes[code] = StorageOverride(
                free_days=self.days(override["free_days"], f"{n_path}.free_days")
                if "free_days" in override
                else None,
                per_day=self.rates(override["per_day"], f"{n_path}.per_day")
                if "per_day" in override
                else None,
            )
        return StorageRule(free, self.rates(entry["per_day"], f"{path}.per_day"), nodes)

    def discounts(self, raw: Any) -> dict[tuple[str, str], DiscountRule]:
        result: dict[tuple[str, str], DiscountRule] = {}
        for index, item in enumerate(self.sequence(raw, "discounts")):
            path = f"discounts[{index}]"
            entry = self.mapping(
                item,
                path,
                {"origin", "destination", "percent", "through_rate"},
                {"origin", "destination"},
            )
            origin = self.node(entry["origin"], f"{path}.origin")
            destination = self.node(entry["destination"], f"{path}.destination")
            if not self.topology.route(origin, destination):
                self.fail(path, f"no route from {origin} to {destination}")
            if ("percent" in entry) == ("through_rate" in entry):
                self.fail(path, "needs exactly one of percent or through_rate")
            percent = None
            if "percent" in entry:
                percent = self.amount(entry["percent"], f"{path}.percent")
                if not 0 < percent <= 100:
                    self.fail(f"{path}.percent", "must be above 0 and at most 100")
            through = (
                self.rates(entry["through_rate"], f"{path}.through_rate")
                if "through_rate" in entry
                else None
            )
            if (origin, destination) in result:
                self.fail(path, f"{origin} -> {destination} has a discount already")
            result[(origin, destination)] = DiscountRule(origin, destination, percent, through)
        return result
