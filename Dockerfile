# syntax=docker/dockerfile:1.19
# corridor's images, built with the repository root as context. One per service:
#   docker build --build-arg SERVICE=ingest -t corridor-ingest:local .     (tracker, tariff)
# and the carrier simulator of compose's demo profile, a development tool:
#   docker build --target demo -t corridor-demo:local .
#
# The package is installed with its pinned dependencies into a venv in a build stage, and only
# that venv goes onto a clean slim image, which runs as an unprivileged user.
#
# Pinned builds: the base image by digest (what `python:3.11.14-slim-trixie` pointed to when it
# was pinned; the pull fails if the registry serves other content), the dependencies from
# requirements.image.lock with `--require-hashes` (pip refuses any file whose sha256 is not
# there; `python -m scripts.hashlock` regenerates it), the package itself from the context
# without an index. To move the base: `docker buildx imagetools inspect
# python:3.11.X-slim-trixie` prints the index digest to put here (docs/deploy.md, "Images"). A service image
# holds what a service runs and nothing else: not the `dev` extra (the embedded broker, the
# test and lint tools) and not the development modules (the `corridor` CLI and its dev stack,
# the journey generator, the carrier simulator), which the build stage never copies.
# `scripts/check_deploy.sh compose` checks this file (hadolint and the house's rules).

FROM python:3.11.14-slim-trixie@sha256:193fdd0bbcb3d2ae612bd6cc3548d2f7c78d65b549fcaa8af75624c47474444d AS base
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin corridor \
 && mkdir -p /app && chown corridor:corridor /app
WORKDIR /app

FROM base AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# The context is what .dockerignore lets in: pyproject.toml, requirements.lock,
# requirements.image.lock, README.md, libs/ and services/.
COPY --exclude=libs/corridor/cli.py \
     --exclude=libs/corridor/devstack.py \
     --exclude=libs/corridor/journeys \
     --exclude=services/ingest/simulator \
     . .
# The dependencies (and setuptools, the build backend) by hash, then the package offline.
# The `corridor` command is the CLI of `corridor run`, whose module stayed out: drop its script.
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.image.lock \
 && pip install --no-cache-dir --no-deps --no-index --no-build-isolation . \
 && rm /opt/venv/bin/corridor

# The demo: the same venv with the development modules added (still no `dev` extra: the
# simulator needs neither the broker nor the test tools).
FROM build AS demo-build
COPY libs ./libs
COPY services ./services
RUN pip install --no-cache-dir --no-deps --no-index --no-build-isolation --force-reinstall .

FROM base AS demo
COPY --from=demo-build /opt/venv /opt/venv
USER 10001:10001
CMD ["python", "-m", "services.ingest.simulator"]

# A service (the default target). Production by default: the settings refuse the demo keys
# unless <SVC>_ENVIRONMENT says otherwise (only `corridor run` is local).
FROM base
ARG SERVICE
COPY --from=build /opt/venv /opt/venv
# Fails the build on a name that is not a service, or on a service that would need a module
# the build stage left out.
RUN python -c 'import importlib, sys; service = sys.argv[1]; \
      importlib.import_module(f"services.{service}.__main__"); \
      importlib.import_module(f"services.{service}.app")' \
    "${SERVICE:?build with --build-arg SERVICE=ingest, tracker or tariff}"
LABEL org.opencontainers.image.title="corridor-${SERVICE}"
# Each service reads only its own <SVC>_ variables: in a container, every one listens on all
# interfaces, on its own port (ingest 8001, tracker 8002, tariff 8003).
ENV CORRIDOR_SERVICE=${SERVICE} \
    INGEST_HOST=0.0.0.0 \
    TRACKER_HOST=0.0.0.0 \
    TARIFF_HOST=0.0.0.0
USER 10001:10001
CMD ["sh", "-c", "exec python -m \"services.${CORRIDOR_SERVICE}\""]
