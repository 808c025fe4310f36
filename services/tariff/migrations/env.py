"""Alembic environment of tariff: run through ``corridor.db.migrate``."""

from corridor.db import run_env
from services.tariff.db import Base

run_env(Base.metadata)
