#!/usr/bin/env bash
# Release checks for imagebuilder_ops.aws: what Galaxy, the Ansible docs site, ansible-builder and AWX will
# do with the collection, run offline. Each check is a named step; the steps run side by side, and a summary
# in their order says PASS or FAIL with each one's time and shows the end of each failed step's log; a failed
# step does not stop the others; the exit status is non-zero when any step failed.
#
#   tests/release/run_checks.sh [STEP...]     (no STEP: all of them; `--list` names them)
#
# Environment (the Makefile's release-checks target sets all four):
#   TOOLS_VENV        venv with tests/requirements/tools.txt (Python 3.13)     default .venv/tools
#   COLLECTIONS_ROOT  directory with ansible_collections/imagebuilder_ops/aws installed from TARBALL and
#                     ansible_collections/amazon/aws beside it                  default .build/core221/installed
#   TARBALL           the built collection                                     default dist/imagebuilder_ops-aws-<version>.tar.gz
#   SUPPORT_ROOT      directory with a source copy as ansible_collections/imagebuilder_ops/aws, from which the AWX
#                     job runs as a module (it imports tests/support)           default .build/tarball
#   RULEBOOK_BIN      a bin directory with ansible-rulebook (.venv/eda/bin), for the try-it-locally step's rulebook
#                     (the Makefile sets it; without it that one command of the guide is not run, and says so)
#   RELEASE_CHECKS_KEEP  a directory to copy the step logs to (they are deleted otherwise)
#   RELEASE_CHECKS_JOBS  steps run at once (default: the number of CPUs); the summary keeps the steps' order
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/release"
VERSION=$(sed -n 's/^version: *//p' "$ROOT/galaxy.yml")
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }
TOOLS_VENV=$(absolute "${TOOLS_VENV:-.venv/tools}")
COLLECTIONS_ROOT=$(absolute "${COLLECTIONS_ROOT:-.build/core221/installed}")
TARBALL=$(absolute "${TARBALL:-dist/imagebuilder_ops-aws-$VERSION.tar.gz}")
SUPPORT_ROOT=$(absolute "${SUPPORT_ROOT:-.build/tarball}")
PY="$TOOLS_VENV/bin/python"
BIN="$TOOLS_VENV/bin"
FQCN=imagebuilder_ops.aws
STEP_TIMEOUT=${STEP_TIMEOUT:-600}

if [ "${1:-}" = "--step" ]; then
    # One step, run by the loop below under `timeout` (which signals the step's whole process group).
    WORK=$RELEASE_CHECKS_WORK
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/ibops-release-checks.XXXXXX")
    cleanup() {
        if [ -n "${RELEASE_CHECKS_KEEP:-}" ]; then mkdir -p "$RELEASE_CHECKS_KEEP" && cp -r "$WORK/logs/." "$RELEASE_CHECKS_KEEP/"; fi
        rm -rf "$WORK"
    }
    trap cleanup EXIT
    mkdir -p "$WORK/logs"
fi

# Every tool comes from the tools venv; collections from COLLECTIONS_ROOT only.
export PATH="$BIN:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT"
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PY_COLORS=0
# Keep ansible's local temp and caches out of the home directory and the tree, and every tool's own state (antsibull
# writes ~/antsibull.log on each run) in a home of the run's own.
export ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp" ANSIBLE_HOME="$WORK/ansible-home" HOME="$WORK/home"
mkdir -p "$HOME"

# ---- Steps ---------------------------------------------------------------------------------------------

step_inputs() {
    local missing=0
    for tool in ansible-lint antsibull-docs antsibull-changelog ansible-builder ansible-runner ansible-galaxy ansible-doc sphinx-build; do
        [ -x "$BIN/$tool" ] || { echo "missing $BIN/$tool (make tools-venv)"; missing=1; }
    done
    "$PY" -c 'import galaxy_importer, boto3' || missing=1
    for dir in imagebuilder_ops/aws amazon/aws; do
        [ -f "$COLLECTIONS_ROOT/ansible_collections/$dir/MANIFEST.json" ] ||
            { echo "missing $COLLECTIONS_ROOT/ansible_collections/$dir"; missing=1; }
    done
    [ -f "$TARBALL" ] || { echo "missing $TARBALL"; missing=1; }
    [ -d "$SUPPORT_ROOT/ansible_collections/imagebuilder_ops/aws/tests/support" ] ||
        { echo "missing $SUPPORT_ROOT/ansible_collections/imagebuilder_ops/aws/tests/support (make tarball)"; missing=1; }
    echo "tools: $TOOLS_VENV (ansible-core $("$PY" -c 'import ansible.release as r; print(r.__version__)'))"
    echo "collections: $COLLECTIONS_ROOT"
    echo "tarball: $TARBALL"
    echo "support: $SUPPORT_ROOT"
    return $missing
}

step_ee_metadata() { "$PY" "$HERE/check_ee.py" metadata "$ROOT"; }

step_ee_introspect() { "$PY" "$HERE/check_ee.py" introspect "$COLLECTIONS_ROOT"; }

step_ee_create() { "$PY" "$HERE/check_ee.py" create "$TARBALL" "$WORK/ee"; }

# The AWX-shaped job, then the "Is it safe?" guide's playbook as its AWX workflow's preview and apply jobs.
step_awx_runner_job() {
    PYTHONPATH="$SUPPORT_ROOT" "$PY" -m ansible_collections.imagebuilder_ops.aws.tests.release.awx_job \
        --collections-root "$COLLECTIONS_ROOT" --guide "$ROOT/docs/docsite/rst/is_it_safe.rst"
}

# The "Try it locally" guide's commands, run in order against the local endpoint, show what the guide says they show.
step_try_it_locally() {
    PYTHONPATH="$SUPPORT_ROOT" "$PY" -m ansible_collections.imagebuilder_ops.aws.tests.release.try_it_locally \
        --collections-root "$COLLECTIONS_ROOT" --guide "$ROOT/docs/docsite/rst/try_it_locally.rst" \
        ${RULEBOOK_BIN:+--rulebook-bin "$RULEBOOK_BIN"}
}

step_docs_lint() {
    cd "$ROOT" && antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all .
}

step_docs_site() { "$PY" "$HERE/docs_site.py" "$COLLECTIONS_ROOT" "$WORK/docs-site"; }

step_changelog_lint() {
    cd "$ROOT" || return 1
    antsibull-changelog lint || return 1
    if [ -f changelogs/changelog.yaml ]; then
        antsibull-changelog lint-changelog-yaml --no-semantic-versioning changelogs/changelog.yaml || return 1
    fi
    echo "fragments and changelogs/changelog.yaml are valid"
}

# CHANGELOG.rst is what changelogs/changelog.yaml generates, and it has this version's release.
step_changelog_current() {
    local copy="$WORK/changelog"
    mkdir -p "$copy" && cp -r "$ROOT/galaxy.yml" "$ROOT/changelogs" "$copy/" || return 1
    [ -f "$ROOT/changelogs/changelog.yaml" ] || { echo "no changelogs/changelog.yaml: run antsibull-changelog release"; return 1; }
    [ -f "$ROOT/CHANGELOG.rst" ] || { echo "no CHANGELOG.rst"; return 1; }
    "$PY" - "$ROOT/changelogs/changelog.yaml" "$VERSION" <<'EOF' || return 1
import sys, yaml
releases = yaml.safe_load(open(sys.argv[1]))["releases"]
if sys.argv[2] not in releases:
    sys.exit(f"changelogs/changelog.yaml has no release {sys.argv[2]} (galaxy.yml's version)")
print(f"changelogs/changelog.yaml has release {sys.argv[2]}")
EOF
    (cd "$copy" && antsibull-changelog generate) || return 1
    diff -u "$ROOT/CHANGELOG.rst" "$copy/CHANGELOG.rst" || { echo "CHANGELOG.rst is stale: antsibull-changelog generate"; return 1; }
    echo "CHANGELOG.rst matches changelogs/changelog.yaml"
}

step_ansible_lint() {
    cd "$ROOT" && ansible-lint --offline --profile production --nocolor
}

# ansible-lint reads EXAMPLES with yamllint only and never reads the guides' YAML: lint them as playbooks.
step_examples_lint() {
    local dir="$WORK/examples"
    "$PY" "$HERE/extract_examples.py" "$ROOT" "$dir" || return 1
    cp "$ROOT/.ansible-lint" "$dir/" && cd "$dir" && ansible-lint --offline --profile production --nocolor
}

step_galaxy_importer() { "$PY" "$HERE/check_importer.py" "$TARBALL" "$COLLECTIONS_ROOT" "$WORK/importer"; }

step_tarball_contents() { "$PY" "$ROOT/tools/check_tarball.py" --list "$TARBALL"; }

# Installs with --no-deps next to amazon.aws (no Galaxy), and ansible-doc reads the installed module.
# Every install form the docs show (README "Installing it for real", the getting started and AWX guides), each twice
# into the same empty path, offline: Galaxy is pointed at a closed port, so nothing may need it.
install_twice() {
    local name=$1 dest=$2 deps=$3; shift 3
    local round
    for round in first second; do
        echo "-- $name, $round install"
        ANSIBLE_COLLECTIONS_PATH="$dest${deps:+:$deps}" ansible-galaxy collection install -p "$dest" "$@" || return 1
        ANSIBLE_COLLECTIONS_PATH="$dest" ansible-galaxy collection list "$FQCN" -p "$dest" | grep -q "$FQCN  *$VERSION" ||
            { echo "$name: $FQCN $VERSION is not in $dest after the $round install"; return 1; }
    done
    # The modules' docs use amazon.aws's doc fragments: with bare ansible-core, amazon.aws comes some other way.
    ANSIBLE_COLLECTIONS_PATH="$dest:$WORK/deps" ansible-doc --json "$FQCN.imagebuilder_lifecycle_execution" >/dev/null ||
        return 1
}

step_install_paths() {
    export ANSIBLE_GALAXY_SERVER=http://127.0.0.1:9
    # amazon.aws on the collections path, as `pip install ansible` puts it; bare ansible-core has none.
    local deps="$WORK/deps"
    mkdir -p "$deps/ansible_collections/amazon" || return 1
    ln -s "$COLLECTIONS_ROOT/ansible_collections/amazon/aws" "$deps/ansible_collections/amazon/aws"
    # The git repository at a commit, and a clone of it: a clone of this checkout stands for both (no release is
    # tagged yet, so the docs pin a commit).
    local repo="$WORK/repo" commit
    git clone --quiet "$ROOT" "$repo" && commit=$(git -C "$repo" rev-parse HEAD) || return 1
    printf 'collections:\n  - name: file://%s\n    type: git\n    version: %s\n' "$repo" "$commit" >"$WORK/requirements.yml"
    install_twice "tarball" "$WORK/i-tarball" "$deps" "$TARBALL" &&
        install_twice "tarball, bare ansible-core (--no-deps)" "$WORK/i-nodeps" "" --no-deps "$TARBALL" &&
        install_twice "a clone's directory" "$WORK/i-clone" "$deps" "$repo" &&
        install_twice "git URL at a commit" "$WORK/i-git" "$deps" "git+file://$repo,$commit" &&
        install_twice "requirements.yml, git at a commit" "$WORK/i-req" "$deps" -r "$WORK/requirements.yml"
}

STEPS=(inputs ee-metadata ee-introspect ee-create awx-runner-job try-it-locally docs-lint docs-site changelog-lint
    changelog-current ansible-lint examples-lint galaxy-importer tarball-contents install-paths)

# ---- Runner --------------------------------------------------------------------------------------------

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${STEPS[@]}"; exit 0; fi
if [ "${1:-}" = "--step" ]; then "step_${2//-/_}"; exit; fi
selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${STEPS[@]}")
for name in "${selected[@]}"; do
    [[ " ${STEPS[*]} " == *" $name "* ]] || { echo "unknown step: $name (steps: ${STEPS[*]})" >&2; exit 2; }
done

# Each step in its own process, so a `cd` or an `exit` in one cannot touch the next, and a step that hangs
# is ended with everything it started. It leaves "STATUS SECONDS" in $WORK/status/NAME.
run_step() {
    local name=$1 start=$SECONDS status
    RELEASE_CHECKS_WORK="$WORK" timeout -k 15 "$STEP_TIMEOUT" bash "${BASH_SOURCE[0]}" --step "$name" </dev/null >"$WORK/logs/$name.log" 2>&1 &
    echo $! >"$WORK/pids/$name"
    wait $!
    status=$?
    [ "$status" -eq 124 ] && echo "timed out after ${STEP_TIMEOUT}s" >>"$WORK/logs/$name.log"
    echo "$status $((SECONDS - start))" >"$WORK/status/$name"
}

# The steps are independent (each works in its own directory under $WORK) and mostly single-threaded, so
# they run side by side, as many as there are CPUs.
jobs_max=${RELEASE_CHECKS_JOBS:-$(nproc 2>/dev/null || echo 2)}
[[ $jobs_max =~ ^[1-9][0-9]*$ ]] || { echo "RELEASE_CHECKS_JOBS must be a whole number >= 1, not '$jobs_max'" >&2; exit 2; }
mkdir -p "$WORK/status" "$WORK/pids"
# `timeout` runs each step in a process group of its own, which an interrupt of this script does not reach:
# pass it on (timeout hands it to the step's group), and wait for them before the EXIT trap removes $WORK.
stop_steps() {
    local pidfile
    for pidfile in "$WORK"/pids/*; do
        [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null
    done
    wait
    exit 130
}
trap stop_steps INT TERM
total_start=$SECONDS
# The slowest steps start first, so that no long one is left running alone at the end.
launch=()
for name in galaxy-importer docs-lint ansible-lint "${selected[@]}"; do
    [[ " ${selected[*]} " == *" $name "* && " ${launch[*]} " != *" $name "* ]] && launch+=("$name")
done
for name in "${launch[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    echo "---- $name"
    run_step "$name" &
done
wait

results=()
failed=0
for name in "${selected[@]}"; do
    if ! read -r status elapsed 2>/dev/null <"$WORK/status/$name"; then
        status=1 elapsed=0
        echo "no status: the step died before it could record one" >>"$WORK/logs/$name.log"
    fi
    if [ "$status" -eq 0 ]; then
        verdict=PASS
    else
        verdict=FAIL
        failed=$((failed + 1))
        echo "FAIL $name (exit $status; last lines of its log)"
        tail -n 40 "$WORK/logs/$name.log" | sed 's/^/     | /'
    fi
    results+=("$(printf '%-4s  %-18s %4ss' "$verdict" "$name" "$elapsed")")
done

echo
echo "==== release checks ($((SECONDS - total_start))s)"
printf '%s\n' "${results[@]}"
passed=$((${#selected[@]} - failed))
echo "release-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
