"""Alembic environment of ingest: run through ``corridor.db.migrate``."""

from corridor.db import run_env
from services.ingest.db import Base

run_env(Base.metadata)
