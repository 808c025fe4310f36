#!/usr/bin/env bash
# Guards the protobuf contracts (proto/, the values of every Kafka topic) with buf:
#   buf lint        the STANDARD rules of proto/buf.yaml
#   buf breaking    the FILE rules of proto/buf.yaml, against
#     1. proto/baseline.image.json: the contracts as last published, committed. It needs
#        no history, so it guards a shallow clone, and a break spread over several commits
#        or pushed in one batch of commits;
#     2. the branch main, when HEAD is not main (a branch about to be merged);
#     3. the previous commit, HEAD~1, when there is one: in CI on a clean clone of main,
#        HEAD is main, so (2) would compare main with itself; (3) catches a commit that
#        breaks a contract and rewrites the baseline to match;
#     4. HEAD, when proto/ has uncommitted changes (a local run before committing).
#
# Usage: scripts/check_proto.sh [--write-baseline] [DIR]
#   DIR               the proto root to check (default proto)
#   --write-baseline  after the checks pass, write proto/baseline.image.json from DIR:
#                     run it when a contract is extended, and commit both together
#   buf: $BUF, else beside the venv's python (scripts/install_deploy_tools.sh puts it
#   there), else on PATH. Missing: exit 3 (skipped), or 1 with CORRIDOR_REQUIRE_DEPLOY_TOOLS=1.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
BASELINE=proto/baseline.image.json
write_baseline=false
if [ "${1:-}" = --write-baseline ]; then
  write_baseline=true
  shift
fi
DIR=${1:-proto}

say() { printf 'check-proto: %s\n' "$*"; }

buf=${BUF:-}
if [ -z "$buf" ]; then
  if [ -x "$(dirname "$PY")/buf" ]; then
    buf=$(dirname "$PY")/buf
  else
    buf=$(command -v buf || true)
  fi
fi
if [ -z "$buf" ]; then
  if [ "${CORRIDOR_REQUIRE_DEPLOY_TOOLS:-}" = 1 ]; then
    say "FAIL buf is not installed (scripts/install_deploy_tools.sh; CORRIDOR_REQUIRE_DEPLOY_TOOLS=1)"
    exit 1
  fi
  say "SKIP buf is not installed (scripts/install_deploy_tools.sh)"
  exit 3
fi

failed=0
check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then
    say "ok    $name"
  else
    say "FAIL  $name"
    failed=1
  fi
}

check "buf lint $DIR" "$buf" lint "$DIR"
if [ -f "$BASELINE" ]; then
  check "buf breaking $DIR against $BASELINE" "$buf" breaking "$DIR" --against "$BASELINE"
elif $write_baseline; then
  say "note  no $BASELINE yet: writing the first one"
else
  say "FAIL  no $BASELINE (scripts/check_proto.sh --write-baseline writes it)"
  failed=1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  head=$(git rev-parse HEAD)
  main=$(git rev-parse -q --verify refs/heads/main || true)
  if [ -n "$main" ] && [ "$main" != "$head" ]; then
    check "buf breaking $DIR against main" \
      "$buf" breaking "$DIR" --against '.git#branch=main,subdir=proto'
  fi
  if git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null; then
    check "buf breaking $DIR against HEAD~1" \
      "$buf" breaking "$DIR" --against '.git#ref=HEAD~1,subdir=proto'
  else
    say "note  no previous commit (first commit or shallow clone): the baseline guards alone"
  fi
  if [ "$DIR" != proto ] || [ -n "$(git status --porcelain -- proto)" ]; then
    check "buf breaking $DIR against HEAD" \
      "$buf" breaking "$DIR" --against '.git#ref=HEAD,subdir=proto'
  fi
else
  say "note  not a git checkout: the baseline guards alone"
fi

if [ "$failed" != 0 ]; then
  say "the contracts are extended, never renamed: add, do not change or remove (docs/partners.md)"
  exit 1
fi
if $write_baseline; then
  # Pretty-printed, so that a change of the contracts shows in review as a readable diff.
  "$buf" build "$DIR" --exclude-source-info -o '-#format=json' \
    | "$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin), indent=1))' \
    >"$BASELINE.tmp"
  mv "$BASELINE.tmp" "$BASELINE"
  say "wrote $BASELINE"
fi
