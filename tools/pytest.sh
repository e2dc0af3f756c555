#!/usr/bin/env bash
# Run pytest over the given test directories with the given Python, and fail loudly when nothing
# was tested: pytest's exit 5 (no tests collected) would otherwise look like a pass to a skim.
#   tools/pytest.sh .venv/core219/bin/python tests/unit tests/local_endpoint
set -uo pipefail

python=${1:?python}
shift
dirs=()
for dir in "$@"; do
    if [[ -d $dir ]]; then dirs+=("$dir"); else echo "!!! NOTE: $dir does not exist: not tested"; fi
done
if [[ ${#dirs[@]} -eq 0 ]]; then
    echo "!!! FAILED: none of $* exists: no tests ran"
    exit 5
fi
# No cache: the staged copy is thrown away anyway.
"$python" -m pytest -p no:cacheprovider "${dirs[@]}"
rc=$?
if [[ $rc -eq 5 ]]; then
    echo "!!! FAILED: pytest collected no tests in ${dirs[*]}"
fi
exit $rc
