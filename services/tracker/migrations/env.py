"""Alembic environment of tracker: run through ``corridor.db.migrate``."""

from corridor.db import run_env
from services.tracker.db.tables import metadata

run_env(metadata)
