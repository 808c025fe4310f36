"""corridor: the shared package of the Middle Corridor single window.

Contracts (generated protobuf code in ``corridor.v1``), settings, the Kafka helper,
metrics, logging, health, problem+json errors and the corridor's reference data.
"""
