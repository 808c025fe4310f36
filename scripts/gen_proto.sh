#!/usr/bin/env bash
# Regenerates the Python code of proto/corridor/v1 into OUT (default libs/).
# Reproducible: pinned grpcio-tools and mypy-protobuf, sorted inputs.
set -euo pipefail
OUT="${1:-libs}"
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
mkdir -p "$OUT/corridor/v1"
BIN="$(cd "$(dirname "$PY")" && pwd)"
"$PY" -m grpc_tools.protoc -Iproto \
  --plugin=protoc-gen-mypy="$BIN/protoc-gen-mypy" \
  --python_out="$OUT" --mypy_out="$OUT" \
  $(find proto -name '*.proto' | LC_ALL=C sort)
touch "$OUT/corridor/v1/__init__.py"
