#!/usr/bin/env bash
# Installs the real MLflow tracking server that the connector tests start
# (crates/connectors/tests/mlflow_live.rs) into a project-local virtualenv, .venv-mlflow/.
# Idempotent: when the pinned version is already there it only prints the path (well under 1 s).
# Needs python3 (3.10+) with venv and access to PyPI on the first run. MLflow itself runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."

version=3.17.2
venv=.venv-mlflow
python=${PYTHON:-python3}

installed() {
  # The [auth] extra is what brings Flask-WTF; checking metadata avoids importing mlflow (slow).
  [ -x "$venv/bin/mlflow" ] && [ "$("$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("mlflow"), m.version("flask-wtf"))' \
    2>/dev/null | cut -d" " -f1)" = "$version" ]
}

if ! installed; then
  printf '\033[1m==> installing mlflow[auth]==%s into %s\033[0m\n' "$version" "$venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow[auth]==$version"
fi
printf '%s\n' "$(pwd)/$venv/bin/mlflow"
