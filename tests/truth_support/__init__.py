"""Helpers of the truth test (tests/integration/test_truth.py): ``journeys`` chooses and
places the generated journeys, ``pipeline`` runs them through the tracker and the tariff,
``expected`` recomputes what those must answer from the truth."""
