"""Equipment bounds shared by every service that takes a gross weight (ingest's bookings,
the tariff's quotes): no more than the maximum gross mass of the container type.

ISO 668 rates every series 1 container of these sizes (1CC 20 ft, 1AA/1AAA 40 ft, 1EEE
45 ft) at a maximum gross mass of 36,000 kg since its Amendment 2 of 2016, carried into
ISO 668:2020 (30,480 kg from 2005 to 2016). A box in service may be plated lower on its CSC
plate; that plate, not this bound, governs how a particular box may be loaded. (Figures as
published about the standard; the standard's own text was not at hand: an assumption to
confirm.)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MAX_GROSS_MASS_KG: Mapping[str, int] = MappingProxyType(
    {
        "20GP": 36_000,  # ISO 668:2020, 1CC
        "40GP": 36_000,  # 1AA
        "40HC": 36_000,  # 1AAA
        "45HC": 36_000,  # 1EEE
        # ASSUMPTION, not ISO 668: loads carried in the wagon itself. A loaded 1520 mm tank
        # or hopper wagon is about 90 t gross; 150 t leaves room for heavy-haul wagons.
        "WAGON": 150_000,
    }
)
# The largest bound of any type: what a schema can check before the type is known.
MAX_ANY_GROSS_MASS_KG = max(MAX_GROSS_MASS_KG.values())


def gross_mass_error(container_type: str, gross_weight_kg: float) -> str | None:
    """Why ``gross_weight_kg`` is too heavy for ``container_type``, or ``None``."""
    limit = MAX_GROSS_MASS_KG.get(container_type)
    if limit is None or gross_weight_kg <= limit:
        return None
    source = "the assumed wagon limit" if container_type == "WAGON" else "ISO 668"
    return (
        f"{gross_weight_kg:,.0f} kg is over the maximum gross mass of a {container_type} "
        f"({limit:,} kg, {source})"
    )
