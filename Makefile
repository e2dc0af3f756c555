# imagebuilder_ops.aws: set up, test, build and demo from nothing but a Python interpreter and the
# package index. `make test` is what CI runs; `make help` lists the targets. Set-up is part of every
# target and is skipped when already done, so any target works on a fresh clone.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

# ---- Interpreters -------------------------------------------------------------------------------
# The default python3 (3.11 here); the newest leg needs >= 3.12: pyenv's 3.13.0 when it is there.
# Override on the command line, e.g. `make PY313=/opt/python3.13/bin/python3 test`.
PY311 ?= python3
PY313 ?= $(or $(shell tools/find_python.sh 3.13.0 3.12),none)
export PY311 PY313

# ---- Compatibility matrix: one line per leg ------------------------------------------------------
# Together the legs prove meta/runtime.yml's requires_ansible (>= 2.19.0: 2.17 and 2.18 are past their end of
# life), galaxy.yml's amazon.aws range (>= 10.1.1, < 12.0.0) and requirements.txt's boto3/botocore >= 1.35.0.
# core219 and core221 run the newest boto (tests/unit/requirements.txt, through leg.txt) and every check.
# floor runs the declared floor: the oldest ansible-core, boto3 and botocore we declare, and the oldest amazon.aws
# 10.x on the index without Galaxy (no `ansible` package ships 10.0.0; 12.0.0 ships 10.1.1). It runs units and
# integration only: sanity judges our code, whatever versions it runs with, and the drills run on DRILL_LEG.
#              interpreter  ansible-core  ansible (ships amazon.aws)  requirements  constraints ($(REQ)/)
LEG_core219 := $(PY311)     2.19.14       12.3.0                      leg.txt       constraints.txt
LEG_core221 := $(PY313)     2.21.5        14.5.0                      leg.txt       constraints.txt
LEG_floor   := $(PY311)     2.19.0        12.0.0                      floor.txt     floor-constraints.txt
LEGS := core219 core221 floor
# The legs `make sanity` runs.
SANITY_LEGS := core219 core221
# The local endpoint stands for the real service, whose model is the newest: a leg on an older botocore runs it
# with the Python of the leg named here (botocore 1.44.8); the others run it with their own.
ENDPOINT_LEG_floor := core219
# What units run: tests/local_endpoint tests the endpoint, which never runs with the floor's botocore.
UNIT_DIRS := tests/unit tests/local_endpoint
UNIT_DIRS_floor := tests/unit

# The tarball is built once, with the ansible-core of a leg that every machine has (in .venv/build, which holds only
# ansible-core); every leg then installs it.
BUILD_LEG := core219
# The drills exercise our retries and error handling through botocore and our option checks, so they run on the
# leg of the default python3 only; units and integration cover the rest of the matrix, the floor's botocore and
# ansible-core included.
DRILL_LEG := core219

# ---- Paths --------------------------------------------------------------------------------------
VENV := .venv
BUILD := .build
DIST := dist
WHEELS := .cache/wheels
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(DIST)/imagebuilder_ops-aws-$(VERSION).tar.gz
REQ := tests/requirements
LINT_PATHS := $(wildcard plugins extensions tests tools demo benchmarks)
# Ansible's own state (the galaxy cache, local temp) of every command run here stays in the build tree, with black's
# cache: a run leaves nothing in the user's home (ansible-test's state: leg_home below).
export ANSIBLE_HOME := $(CURDIR)/$(BUILD)/ansible-home
export BLACK_CACHE_DIR := $(CURDIR)/.cache/black

leg_python = $(word 1,$(LEG_$(1)))
leg_core = $(word 2,$(LEG_$(1)))
leg_ansible = $(word 3,$(LEG_$(1)))
leg_requirements = $(REQ)/$(word 4,$(LEG_$(1)))
leg_constraints = $(REQ)/$(word 5,$(LEG_$(1)))
leg_unit_dirs = $(or $(UNIT_DIRS_$(1)),$(UNIT_DIRS))
# The interpreter of the leg's local endpoint: ENDPOINT_LEG_<leg>'s when set, else the leg's own.
leg_endpoint_python = $(CURDIR)/$(VENV)/$(or $(ENDPOINT_LEG_$(1)),$(1))/bin/python
# ansible-test needs ROOT/ansible_collections/imagebuilder_ops/aws as a real directory.
stage_dir = $(BUILD)/$(1)/ansible_collections/imagebuilder_ops/aws
installed = $(BUILD)/$(1)/installed
# Integration tests a copy of its own, beside amazon.aws, so that stage-<leg> (units, sanity) never replaces the tree
# under a run; ansible-test's output is kept in the log for the credential check.
integration_root = $(BUILD)/$(1)/integration
integration_dir = $(call integration_root,$(1))/ansible_collections/imagebuilder_ops/aws
integration_log = $(CURDIR)/$(call integration_root,$(1))/ansible-test.log
LOCALENV := tests/integration/targets/setup_localenv_endpoint
# The targets integration-<leg> runs: empty for all of them, e.g. `make integration-core219 INTEGRATION_TARGETS=NAME`.
INTEGRATION_TARGETS ?=
# The leg's venv bin first on PATH: ansible-test --python X.Y and the integration's ansible-playbook find it.
leg_env = PATH="$(CURDIR)/$(VENV)/$(1)/bin:$$PATH"
# ansible-test keeps its state in ~/.ansible/test: the ssh key its first integration run creates (legs side by side
# raced to create it: "id_rsa already exists. Overwrite (y/n)?" on a machine's first run), its sanity venvs and the
# get-pip cache our stand-in goes into. Each leg gets a home of its own in the build tree, so nothing races, nothing
# lands in the user's home and a clone never depends on what another left there. pip keeps the user's
# configuration and download cache (pip's cache is safe to share).
leg_home = $(CURDIR)/$(BUILD)/$(1)/home
# (HOME comes last: the words before it still read the user's.)
test_env = XDG_CONFIG_HOME="$${XDG_CONFIG_HOME:-$$HOME/.config}" \
	PIP_CACHE_DIR="$${PIP_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/pip}" $(call leg_env,$(1)) HOME="$(call leg_home,$(1))"
leg_pyver = $$($(CURDIR)/$(VENV)/$(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

READY_LEGS := $(foreach l,$(LEGS),$(if $(filter none,$(call leg_python,$(l))),,$(l)))
MISSING_LEGS := $(filter-out $(READY_LEGS),$(LEGS))

.PHONY: help test venv lint format sanity units build install-legs integration drills eda demo endpoint docs \
	release-checks bench clean legs-available tarball build-venv tools-venv lint-venv eda-venv eda-ansible-venv \
	$(foreach t,venv stage units install integration drills,$(addprefix $(t)-,$(LEGS))) \
	$(addprefix sanity-,$(SANITY_LEGS))

help:
	@echo "Try it (no AWS account needed):"
	@echo "  make demo            the whole story against a bundled local endpoint: a lifecycle policy created,"
	@echo "                       previewed, run, its execution compared with the preview, an on-demand state update"
	@echo "  make endpoint        serve the local Image Builder and EC2 endpoint with the demo's policies, images and AMIs,"
	@echo "                       and print the environment to export; Ctrl-C stops it (docs/docsite/rst/try_it_locally.rst)"
	@echo "Build:"
	@echo "  make build           $(TARBALL) only (ansible-galaxy collection build, in .venv/build)"
	@echo "  make docs            the docs site (antsibull-docs and Sphinx) in $(DOCS_SITE)"
	@echo "Test:"
	@echo "  make test            venv + lint + sanity + units + install-legs + integration + drills + eda + release-checks,"
	@echo "                       with a summary (what CI runs)"
	@echo "  make venv            one venv per leg ($(LEGS)) plus amazon.aws beside the collection, and the build, lint,"
	@echo "                       tools and EDA venvs"
	@echo "  make lint            black, isort, flake8 over $(LINT_PATHS)"
	@echo "  make format          apply black and isort"
	@echo "  make sanity          ansible-test sanity on the $(SANITY_LEGS) legs"
	@echo "  make units           pytest tests/unit tests/local_endpoint on every leg (tests/unit only on floor)"
	@echo "  make install-legs    make build, then install the tarball into $(BUILD)/<leg>/installed for every leg"
	@echo "  make integration     ansible-test integration on every leg, against the local endpoint"
	@echo "  make drills          tests/drills/run.py (fault and load drills) on the $(DRILL_LEG) leg"
	@echo "  make eda             tests/eda/run.py: the event source's guide rulebook in ansible-rulebook, in every layout"
	@echo "  make release-checks  tests/release/run_checks.sh with .venv/tools"
	@echo "  make bench           benchmarks/run.py on the core221 leg (results in docs/performance.md)"
	@echo "  make clean           remove .venv .build .cache dist"
	@echo "Per leg: venv-<leg> stage-<leg> sanity-<leg> units-<leg> install-<leg> integration-<leg> drills-<leg>"
	@echo "         (no sanity-floor; integration-<leg> INTEGRATION_TARGETS=NAME runs one target)"

# ---- The whole run --------------------------------------------------------------------------------
# Each step runs even after an earlier one failed, so the summary always covers all of them.
# One step at a time: each already keeps both cores busy (legs side by side, drills four at a time, release
# checks side by side); running steps side by side measured no faster (docs/performance.md has the timings).
TEST_STEPS := venv lint sanity units install-legs integration drills eda demo release-checks
test:
	@$(PY311) tools/run_steps.py --make "$(MAKE) -k" --missing-legs "$(MISSING_LEGS)" $(TEST_STEPS)

# A leg without its interpreter is skipped on a developer's machine, loudly; CI must run every leg.
legs-available:
	@if [ -n "$(MISSING_LEGS)" ]; then \
		echo "!!! NOTE: leg(s) $(MISSING_LEGS) SKIPPED-UNAVAILABLE: no Python >= 3.12 found (pyenv 3.13.0" \
			"preferred; set PY313=/path/to/python3)"; \
		if [ "$${CI:-}" = true ]; then echo "!!! CI must run every leg: failing"; exit 1; fi; \
	fi

# ---- Set-up --------------------------------------------------------------------------------------
# Every venv `make test` needs, the release checks' (the largest) first; two at a time: pip spends much of
# its time waiting, and the machines have 2 cores.
venv: legs-available
	@$(MAKE) -j2 --output-sync=target $(if $(filter none,$(PY313)),,tools-venv eda-ansible-venv) \
		$(addprefix venv-,$(READY_LEGS)) build-venv lint-venv eda-venv

# tools/venv.py rebuilds only when the interpreter, the pins or the pip arguments changed.
$(addprefix venv-,$(LEGS)): venv-%:
	@if [ "$(call leg_python,$*)" = none ]; then echo "leg $*: no Python >= 3.12 found (set PY313=...)"; exit 1; fi
	@$(PY311) tools/venv.py --python $(call leg_python,$*) --dir $(VENV)/$* \
		--check "tools/check_leg.py --ansible-core $(call leg_core,$*) \
			--requirements $(call leg_requirements,$*) --constraints $(call leg_constraints,$*)" \
		-- ansible-core==$(call leg_core,$*) -r $(call leg_requirements,$*) -c $(call leg_constraints,$*)
	@$(VENV)/$*/bin/python tools/amazon_aws.py --ansible $(call leg_ansible,$*) --cache $(WHEELS) \
		--dest $(BUILD)/$*/ansible_collections --stamp $(BUILD)/$*/amazon.aws.stamp

# ansible-core alone, at the BUILD_LEG's version: all `ansible-galaxy collection build` needs, so `make build` on a
# fresh clone installs one package and its few dependencies, not a leg with boto3 and amazon.aws.
build-venv:
	@$(PY311) tools/venv.py --python $(PY311) --dir $(VENV)/build -- ansible-core==$(call leg_core,$(BUILD_LEG)) \
		-c $(REQ)/constraints.txt

lint-venv:
	@$(PY311) tools/venv.py --python $(PY311) --dir $(VENV)/lint -- -r $(REQ)/lint.txt -c $(REQ)/constraints.txt

# ansible-rulebook 1.3.2 (Python 3.11; it finds the machine's Java 17 itself) for the event source's end-to-end test.
eda-venv:
	@$(PY311) tools/venv.py --python $(PY311) --dir $(VENV)/eda --check "-m pip check" -- -r $(REQ)/eda.txt

# The layout most EDA set-ups have: the ansible package (amazon.aws in its site-packages), ansible-rulebook and boto3 in
# one venv (Python 3.13, which ansible 14 needs).
eda-ansible-venv:
	@if [ "$(PY313)" = none ]; then echo "the ansible package's EDA venv needs Python >= 3.12: none found (set PY313=...)"; \
		exit 1; fi
	@$(PY311) tools/venv.py --python $(PY313) --dir $(VENV)/eda-ansible --check "-m pip check" -- -r $(REQ)/eda-ansible.txt

# tools.txt belongs to the release checks; without it this target fails, as it should.
tools-venv: $(REQ)/tools.txt
	@if [ "$(PY313)" = none ]; then echo "release checks need Python >= 3.12: none found (set PY313=...)"; exit 1; fi
	@$(PY311) tools/venv.py --python $(PY313) --dir $(VENV)/tools -- -r $(REQ)/tools.txt

# A fresh copy each time, so files deleted from the source do not linger in what is tested.
$(addprefix stage-,$(LEGS)): stage-%:
	@tools/stage.sh $(call stage_dir,$*)

# ---- Checks --------------------------------------------------------------------------------------
lint: lint-venv
	@rc=0; \
	$(VENV)/lint/bin/black --check --quiet $(LINT_PATHS) || rc=1; \
	$(VENV)/lint/bin/isort --check-only --quiet $(LINT_PATHS) || rc=1; \
	$(VENV)/lint/bin/flake8 $(LINT_PATHS) || rc=1; \
	if [ $$rc = 0 ]; then echo "lint: clean"; else echo "lint: FAILED (make format applies black and isort)"; fi; exit $$rc

format: lint-venv
	$(VENV)/lint/bin/isort --quiet $(LINT_PATHS)
	$(VENV)/lint/bin/black --quiet $(LINT_PATHS)

# Legs two at a time, each leg's output kept together: sanity is CPU-bound (pylint), the legs'
# Pythons differ, so their ansible-test venvs and get-pip scripts do not collide.
sanity: legs-available
	@$(MAKE) -j2 --output-sync=target $(addprefix sanity-,$(filter $(SANITY_LEGS),$(READY_LEGS)))

# Sanity problems are fixed in the code, never ignored. The get-pip stand-in lets ansible-test
# bootstrap its sanity venvs without the host it would download get-pip.py from.
$(addprefix sanity-,$(SANITY_LEGS)): sanity-%: venv-% stage-%
	@if cat tests/sanity/ignore-*.txt 2>/dev/null | grep -Ev '^[[:space:]]*(#|$$)'; then \
		echo "tests/sanity: ignore entries are not allowed"; exit 1; fi
	@$(call test_env,$*) $(VENV)/$*/bin/python tools/install_get_pip.py $(call leg_pyver,$*)
	cd $(call stage_dir,$*) && $(call test_env,$*) ansible-test sanity --python $(call leg_pyver,$*) --color no

units: legs-available
	@$(MAKE) -j2 --output-sync=target $(addprefix units-,$(READY_LEGS))

# From the staged copy with PYTHONPATH at its ansible_collections parent, so tests import
# ansible_collections.imagebuilder_ops.aws... and amazon.aws exactly as Ansible lays them out.
$(addprefix units-,$(LEGS)): units-%: venv-% stage-%
	cd $(call stage_dir,$*) && PYTHONPATH="$(CURDIR)/$(BUILD)/$*" \
		$(CURDIR)/tools/pytest.sh $(CURDIR)/$(VENV)/$*/bin/python $(call leg_unit_dirs,$*)

# ---- Build, install, run -------------------------------------------------------------------------
build: tarball

# Built from a copy of its own, so that building (which drills, the demo and the release checks ask for)
# never replaces the copy that sanity or units of the same leg may be reading at the same moment.
# ansible-galaxy's own lines are kept for a failure: a build says what it made in one line.
tarball: build-venv
	@tools/stage.sh $(call stage_dir,tarball) >/dev/null
	@rm -f $(DIST)/imagebuilder_ops-aws-*.tar.gz
	@out=$$($(VENV)/build/bin/ansible-galaxy collection build --force --output-path $(DIST) \
		$(call stage_dir,tarball) 2>&1) || { echo "$$out"; exit 1; }
	@$(PY311) tools/check_tarball.py $(TARBALL)

install-legs: legs-available $(addprefix install-,$(READY_LEGS))

# --no-deps: plain install would ask Galaxy for amazon.aws. amazon.aws is linked in beside it instead. The path
# installed into is the collections path of the install, so ansible-galaxy has no reason to warn that it is not.
$(addprefix install-,$(LEGS)): install-%: venv-% tarball
	@rm -rf $(call installed,$*)
	@out=$$(ANSIBLE_COLLECTIONS_PATH=$(call installed,$*) $(VENV)/$*/bin/ansible-galaxy collection install --no-deps \
		--force -p $(call installed,$*)/ansible_collections $(TARBALL) 2>&1) || { echo "$$out"; exit 1; }
	@ln -sfn ../../ansible_collections/amazon $(call installed,$*)/ansible_collections/amazon
	@echo "installed imagebuilder_ops.aws $(VERSION) into $(call installed,$*), beside amazon.aws"

# The legs side by side, each one's output in one piece. The targets of a leg run one after the other: side by side
# (an endpoint and a copy each) measured no faster, the 2 cores being busy already.
integration: legs-available
	@$(MAKE) -j$(words $(READY_LEGS)) --output-sync=target $(addprefix integration-,$(READY_LEGS))

# ansible-test integration runs the targets from the leg's venv, on the source (the release checks install the
# tarball). setup.yml starts the local endpoint, whose URL and fake credentials it writes where ansible-test reads
# them; teardown.yml, run whatever happened (EXIT trap, its status counts), stops it, and fails if a fake credential
# appears in ansible-test's output. ansible-test passes no AWS_* variable to the targets.
$(addprefix integration-,$(LEGS)): integration-%: venv-%
	@tools/stage.sh $(call integration_dir,$*)
	@ln -sfn ../../ansible_collections/amazon $(call integration_root,$*)/ansible_collections/amazon
	@rm -f $(call integration_log,$*)
	cd $(call integration_dir,$*) && export $(call test_env,$*) ANSIBLE_LOCALHOST_WARNING=false \
		ANSIBLE_INVENTORY_UNPARSED_WARNING=false && \
	trap 'rc=$$?; ansible-playbook $(LOCALENV)/teardown.yml -e imagebuilder_test_output=$(call integration_log,$*) \
		|| rc=1; exit $$rc' EXIT && \
	ansible-playbook $(LOCALENV)/setup.yml -e imagebuilder_endpoint_python=$(call leg_endpoint_python,$*) && \
	ansible-test integration --local --python $(call leg_pyver,$*) --color no --continue-on-error \
		$(INTEGRATION_TARGETS) 2>&1 | tee $(call integration_log,$*)

# The endpoint's venv is a prerequisite too (integration-floor: venv-core219).
$(foreach l,$(LEGS),$(if $(ENDPOINT_LEG_$(l)),$(eval integration-$(l): venv-$(ENDPOINT_LEG_$(l)))))

# The drills, the demo, the benchmarks and the AWX job import tests/support the way the unit tests import the
# collection: they run as modules of the copy the tarball was built from (each installs the tarball first).
SUPPORT_ROOT := $(CURDIR)/$(BUILD)/tarball
# $(call run_module,LEG,MODULE): python -m ansible_collections.imagebuilder_ops.aws.MODULE with the leg's Python.
run_module = PYTHONPATH="$(SUPPORT_ROOT)" $(VENV)/$(1)/bin/python -m ansible_collections.imagebuilder_ops.aws.$(2)

drills: drills-$(DRILL_LEG)

$(addprefix drills-,$(LEGS)): drills-%: install-%
	$(call leg_env,$*) $(call run_module,$*,tests.drills.run) --leg $* --collections-path $(call installed,$*)

# The event source's guide rulebook in the real ansible-rulebook, against the local endpoint, in each layout users
# install it in: the collection installed on the core219 leg (amazon.aws beside it), or the tarball installed by the
# layout itself, with ansible-core (.venv/eda) or the ansible package (.venv/eda-ansible; without Python >= 3.12 its
# layouts are skipped, loudly, and CI fails).
eda: legs-available eda-venv $(if $(filter none,$(PY313)),,eda-ansible-venv) install-core219
	$(call run_module,eda,tests.eda.run) --collections-path $(call installed,core219) --tarball $(TARBALL) \
		$(if $(filter none,$(PY313)),,--ansible-venv $(VENV)/eda-ansible)

demo: install-core219
	@$(call leg_env,core219) $(call run_module,core219,demo.run) --collections-path $(call installed,core219)

# The local endpoint in the foreground, for trying the collection by hand (docs/docsite/rst/try_it_locally.rst):
# the scenario the demo uses, on ENDPOINT_PORT (0: a free one), with the botocore model of the core219 leg.
ENDPOINT_SCENARIO ?= tests/local_endpoint/scenarios/demo.json
ENDPOINT_PORT ?= 0
endpoint: install-core219
	@$(VENV)/core219/bin/python tools/endpoint.py --scenario $(ENDPOINT_SCENARIO) --port $(ENDPOINT_PORT) \
		--collections-path $(call installed,core219) --venv $(VENV)/core219

# The docs site as the Ansible docs would render it: tests/release/docs_site.py (also a release check) with the tools
# venv, over the collection installed on the core221 leg; warnings fail it.
DOCS_SITE := $(BUILD)/docs
docs: tools-venv install-core221
	@rm -rf $(DOCS_SITE)
	@out=$$($(VENV)/tools/bin/python tests/release/docs_site.py $(call installed,core221) $(DOCS_SITE) 2>&1) || \
		{ echo "$$out"; exit 1; }
	@echo "docs site: $(DOCS_SITE)/build/html/collections/imagebuilder_ops/aws/index.html"

# The checks run on the core221 leg's Python; without it they are skipped like the leg (CI fails).
# Paths are absolute so the script may change directory.
ifeq ($(filter core221,$(READY_LEGS)),)
release-checks: legs-available
	@echo "!!! NOTE: release-checks SKIPPED-UNAVAILABLE: they need the core221 leg's Python >= 3.12"
else
release-checks: tools-venv eda-venv install-core221
	TOOLS_VENV=$(CURDIR)/$(VENV)/tools COLLECTIONS_ROOT=$(CURDIR)/$(call installed,core221) \
		TARBALL=$(CURDIR)/$(TARBALL) SUPPORT_ROOT=$(SUPPORT_ROOT) RULEBOOK_BIN=$(CURDIR)/$(VENV)/eda/bin \
		bash tests/release/run_checks.sh
endif

# The AWS CLI the benchmarks compare the module with: pinned, in a venv of its own (only `make bench` needs it).
.PHONY: awscli-venv
awscli-venv: $(REQ)/bench.txt
	@if [ "$(PY313)" = none ]; then echo "the AWS CLI venv needs Python >= 3.12: none found (set PY313=...)"; exit 1; fi
	@$(PY311) tools/venv.py --python $(PY313) --dir $(VENV)/awscli --check "-m awscli --version" -- -r $(REQ)/bench.txt

# The results go into this checkout's docs/performance.md, not into the copy the benchmarks run from.
bench: install-core221 awscli-venv
	$(call leg_env,core221) $(call run_module,core221,benchmarks.run) --collections-path $(call installed,core221) \
		--aws-cli $(CURDIR)/$(VENV)/awscli/bin/aws --doc $(CURDIR)/docs/performance.md

clean:
	rm -rf $(VENV) $(BUILD) .cache $(DIST)
