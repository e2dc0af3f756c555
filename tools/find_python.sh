#!/usr/bin/env bash
# Print the path of a working Python interpreter, preferring an exact pyenv version.
#   tools/find_python.sh PREFERRED MINIMUM      e.g. tools/find_python.sh 3.13.0 3.12
# Prints nothing and exits 1 when none is found: the caller decides whether that is fatal.
# Each candidate is run, not just tested for existence: pyenv shims such as python3.13 on PATH
# exist but exit 127 unless that version is selected.
set -uo pipefail

preferred=${1:?preferred version, e.g. 3.13.0}
minimum=${2:?minimum version, e.g. 3.12}

roots=()
if command -v pyenv >/dev/null 2>&1; then
    roots+=("$(pyenv root 2>/dev/null)")
fi
roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv")

candidates=()
for root in "${roots[@]}"; do
    [[ -n $root ]] && candidates+=("$root/versions/$preferred/bin/python3")
done
for root in "${roots[@]}"; do
    # Newest first, so 3.13.x beats 3.12.x when the preferred patch release is missing.
    [[ -n $root && -d $root/versions ]] || continue
    while IFS= read -r dir; do
        candidates+=("$dir/bin/python3")
    done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name '3.*' | sort -V -r)
done
candidates+=("python$preferred" "python${preferred%.*}" "python$minimum" python3)

check="import sys, venv, ensurepip; sys.exit(sys.version_info < tuple(int(p) for p in '$minimum'.split('.')))"
for python in "${candidates[@]}"; do
    path=$(command -v "$python" 2>/dev/null) || continue
    if "$path" -c "$check" >/dev/null 2>&1; then
        # Resolve a shim to the interpreter it runs, so the venv does not depend on pyenv's state.
        "$path" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done
exit 1
