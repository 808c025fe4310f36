"""The standards carriers already speak, mapped onto the native event (docs/standards.md).

``epcis`` (GS1 EPCIS 2.0 / CBV 2.0) and ``dcsa`` (DCSA Track & Trace v2.2) are pure: each
turns one event of its standard into the body that ``POST /v1/events`` takes, or into
violations naming the field of the standard at fault. ``capture`` then sends the bodies
through ingest's one use case (``handlers.Ingest``), so the same schema, rules, trust,
ledger and contract apply; ``jobs`` keeps the EPCIS capture jobs; ``api`` serves them.
"""
