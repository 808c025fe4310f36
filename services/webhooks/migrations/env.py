"""Alembic environment of webhooks: run through ``corridor.db.migrate``."""

from corridor.db import run_env
from services.webhooks.db import Base

run_env(Base.metadata)
