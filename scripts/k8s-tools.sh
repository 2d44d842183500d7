#!/usr/bin/env bash
# Installs the offline manifest validators of dataflow/tests/k8s.rs, idempotently:
# kubectl (Debian kubernetes-client) and a Python venv with kubernetes-validate and yamllint
# under $TICKFLOW_K8S_VENV (default $HOME/.cache/tickflow-k8s-venv). promtool comes with
# scripts/services.sh (Debian prometheus).
set -euo pipefail
VENV="${TICKFLOW_K8S_VENV:-$HOME/.cache/tickflow-k8s-venv}"
if ! command -v kubectl >/dev/null 2>&1; then
  echo "k8s-tools: installing kubernetes-client (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi
if [ ! -x "$VENV/bin/kubernetes-validate" ] || [ ! -x "$VENV/bin/yamllint" ]; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  echo "k8s-tools: installing kubernetes-validate and yamllint into $VENV (pip)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q kubernetes-validate yamllint
fi
