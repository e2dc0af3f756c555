# imagebuilder_ops.aws: set up, test, build and demo from nothing but a Python interpreter and the package index.
# `make test` is what CI runs; `make help` lists the targets. Set-up is part of every target and is skipped when
# already done, so any target works on a fresh clone. The legs and the venvs are in tests/legs.toml.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

# The default python3 (3.11 here) and a Python >= 3.12 for the newest leg and the release checks: pyenv's 3.13.0 when
# it is there. Override on the command line, e.g. `make PY313=/opt/python3.13/bin/python3 test`.
PY311 ?= python3
ifeq ($(origin PY313),undefined)
PY313 := $(or $(shell $(PY311) tools/legs.py python 3.13.0 3.12),none)
endif
export PY311 PY313

VENV := .venv
BUILD := .build
DIST := dist
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(DIST)/imagebuilder_ops-aws-$(VERSION).tar.gz
LINT_PATHS := $(wildcard plugins extensions tests tools demo benchmarks)
# Ansible's own state and black's cache stay in the tree: a run leaves nothing in the user's home (ansible-test's
# state: leg_home below).
export ANSIBLE_HOME := $(CURDIR)/$(BUILD)/ansible-home
export BLACK_CACHE_DIR := $(CURDIR)/.cache/black

# LEGS, OTHER_VENVS, SANITY_LEGS, BUILD_LEG, DRILL_LEG, PYTHON_<venv> and ENDPOINT_LEG_<leg>, from tests/legs.toml.
include $(BUILD)/legs.mk
$(BUILD)/legs.mk: tests/legs.toml tools/legs.py
	@mkdir -p $(@D) && $(PY311) tools/legs.py make >$@.tmp && mv $@.tmp $@

READY_VENVS := $(foreach v,$(LEGS) $(OTHER_VENVS),$(if $(filter none,$(PYTHON_$(v))),,$(v)))
READY_LEGS := $(filter $(LEGS),$(READY_VENVS))
MISSING_LEGS := $(filter-out $(READY_LEGS),$(LEGS))

# ansible-test needs ROOT/ansible_collections/imagebuilder_ops/aws as a real directory.
stage_dir = $(BUILD)/$(1)/ansible_collections/imagebuilder_ops/aws
installed = $(BUILD)/$(1)/installed
# Integration tests a copy of its own, beside amazon.aws, so that stage-<leg> (units, sanity) never replaces the tree
# under a run; ansible-test's output is kept in the log for the credential check.
integration_root = $(BUILD)/$(1)/integration
integration_dir = $(call integration_root,$(1))/ansible_collections/imagebuilder_ops/aws
integration_log = $(CURDIR)/$(call integration_root,$(1))/ansible-test.log
LOCALENV := tests/integration/targets/setup_localenv_endpoint
INTEGRATION_TARGETS ?=
# The leg's venv bin first on PATH: ansible-test --python X.Y and the integration's ansible-playbook find it.
leg_env = PATH="$(CURDIR)/$(VENV)/$(1)/bin:$$PATH"
# ansible-test keeps its state in ~/.ansible/test: the ssh key its first integration run creates (legs side by side
# raced to create it: "id_rsa already exists. Overwrite (y/n)?"), its sanity venvs and the get-pip cache our stand-in
# goes into. Each leg gets a home of its own in the build tree, so nothing races, nothing lands in the user's home and
# a clone never depends on what another left there. pip keeps the user's configuration and its (shareable) cache;
# HOME comes last, so that the words before it still read the user's.
leg_home = $(CURDIR)/$(BUILD)/$(1)/home
test_env = XDG_CONFIG_HOME="$${XDG_CONFIG_HOME:-$$HOME/.config}" \
	PIP_CACHE_DIR="$${PIP_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/pip}" $(call leg_env,$(1)) HOME="$(call leg_home,$(1))"
leg_pyver = $$($(CURDIR)/$(VENV)/$(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The drills, the demo, the benchmarks and the AWX job import tests/support the way the unit tests import the
# collection: as modules of the copy the tarball was built from (each installs the tarball first).
SUPPORT_ROOT := $(CURDIR)/$(BUILD)/tarball
run_module = PYTHONPATH="$(SUPPORT_ROOT)" $(VENV)/$(1)/bin/python -m ansible_collections.imagebuilder_ops.aws.$(2)

PER_LEG := venv stage units install integration drills
.PHONY: help test legs-available venv lint format sanity units build tarball install-legs integration drills eda demo \
	endpoint docs release-checks bench clean $(foreach t,$(PER_LEG),$(addprefix $(t)-,$(LEGS))) \
	$(addprefix sanity-,$(SANITY_LEGS)) $(addsuffix -venv,$(OTHER_VENVS))

help: ## this list
	@echo "Targets (no AWS account needed: the tests, the demo and the endpoint run against a bundled local endpoint):"
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)/  make \1\t\2/p' $(MAKEFILE_LIST) | expand -t 24
	@echo "Legs (tests/legs.toml): $(LEGS) (sanity: $(SANITY_LEGS))$(if $(MISSING_LEGS), - no Python for $(MISSING_LEGS))"
	@echo "Per leg: $(addsuffix -<leg>,$(PER_LEG)), sanity-<leg>"
	@echo "Other venvs: $(addsuffix -venv,$(OTHER_VENVS))"
	@echo "Variables: PY313=/path/to/python3 (>= 3.12), INTEGRATION_TARGETS='NAME ...' (integration-<leg>),"
	@echo "  ENDPOINT_SCENARIO=FILE and ENDPOINT_PORT=N (endpoint)"

# ---- The whole run ------------------------------------------------------------------------------------------------
# Each step runs even after an earlier one failed, so the summary always covers all of them. One step at a time:
# each already keeps both cores busy; running steps side by side measured no faster (docs/performance.md).
TEST_STEPS := venv lint sanity units install-legs integration drills eda demo release-checks
test: ## every step below in turn, with a summary (what CI runs)
	@$(PY311) tools/run_steps.py --make "$(MAKE) -k" --missing-legs "$(MISSING_LEGS)" $(TEST_STEPS)

# A leg without its interpreter is skipped on a developer's machine, loudly; CI must run every leg.
legs-available:
	@if [ -n "$(MISSING_LEGS)" ]; then \
		echo "!!! NOTE: leg(s) $(MISSING_LEGS) SKIPPED-UNAVAILABLE: no Python >= 3.12 found (pyenv 3.13.0" \
			"preferred; set PY313=/path/to/python3)"; \
		if [ "$${CI:-}" = true ]; then echo "!!! CI must run every leg: failing"; exit 1; fi; \
	fi

# ---- Set-up -------------------------------------------------------------------------------------------------------
# The largest venvs first, two at a time: pip spends much of its time waiting, and the machines have 2 cores.
# (awscli is bench's alone.)
venv: legs-available ## every venv `make test` needs (tests/legs.toml), each rebuilt only when its pins change
	@$(MAKE) -j2 --output-sync=target $(addsuffix -venv,$(filter tools eda-ansible,$(READY_VENVS))) \
		$(addprefix venv-,$(READY_LEGS)) $(addsuffix -venv,$(filter-out tools eda-ansible awscli $(LEGS),$(READY_VENVS)))

$(addprefix venv-,$(LEGS)): venv-%:
	@$(PY311) tools/legs.py venv $*

$(addsuffix -venv,$(OTHER_VENVS)): %-venv:
	@$(PY311) tools/legs.py venv $*

# A fresh copy each time, so files deleted from the source do not linger in what is tested.
$(addprefix stage-,$(LEGS)): stage-%:
	@tools/stage.sh $(call stage_dir,$*)

# ---- Checks -------------------------------------------------------------------------------------------------------
lint: lint-venv ## black, isort, flake8
	@rc=0; \
	$(VENV)/lint/bin/black --check --quiet $(LINT_PATHS) || rc=1; \
	$(VENV)/lint/bin/isort --check-only --quiet $(LINT_PATHS) || rc=1; \
	$(VENV)/lint/bin/flake8 $(LINT_PATHS) || rc=1; \
	if [ $$rc = 0 ]; then echo "lint: clean"; else echo "lint: FAILED (make format applies black and isort)"; fi; exit $$rc

format: lint-venv ## apply black and isort
	$(VENV)/lint/bin/isort --quiet $(LINT_PATHS)
	$(VENV)/lint/bin/black --quiet $(LINT_PATHS)

# Two legs at a time, each one's output kept together: sanity is CPU-bound (pylint); the legs' Pythons differ, so
# their ansible-test venvs and get-pip scripts do not collide.
sanity: legs-available ## ansible-test sanity on the sanity legs
	@$(MAKE) -j2 --output-sync=target $(addprefix sanity-,$(filter $(SANITY_LEGS),$(READY_LEGS)))

# Sanity problems are fixed in the code, never ignored. The get-pip stand-in lets ansible-test bootstrap its sanity
# venvs without the host it would download get-pip.py from.
$(addprefix sanity-,$(SANITY_LEGS)): sanity-%: venv-% stage-%
	@if cat tests/sanity/ignore-*.txt 2>/dev/null | grep -Ev '^[[:space:]]*(#|$$)'; then \
		echo "tests/sanity: ignore entries are not allowed"; exit 1; fi
	@$(call test_env,$*) $(VENV)/$*/bin/python tools/install_get_pip.py $(call leg_pyver,$*)
	cd $(call stage_dir,$*) && $(call test_env,$*) ansible-test sanity --python $(call leg_pyver,$*) --color no

units: legs-available ## pytest over each leg's unit_dirs, every leg
	@$(MAKE) -j2 --output-sync=target $(addprefix units-,$(READY_LEGS))

$(addprefix units-,$(LEGS)): units-%: venv-% stage-%
	$(PY311) tools/legs.py units $*

# ---- Build, install, run ------------------------------------------------------------------------------------------
build: tarball ## dist/imagebuilder_ops-aws-<version>.tar.gz only, with ansible-core alone (.venv/build)

# Built from a copy of its own, so that building (which drills, the demo and the release checks ask for) never
# replaces the copy that sanity or units of the same leg may be reading. ansible-galaxy's lines are shown on failure.
tarball: build-venv
	@tools/stage.sh $(call stage_dir,tarball) >/dev/null
	@rm -f $(DIST)/imagebuilder_ops-aws-*.tar.gz
	@out=$$($(VENV)/build/bin/ansible-galaxy collection build --force --output-path $(DIST) \
		$(call stage_dir,tarball) 2>&1) || { echo "$$out"; exit 1; }
	@$(PY311) tools/check_tarball.py $(TARBALL)

install-legs: legs-available $(addprefix install-,$(READY_LEGS)) ## make build, then install it on every leg

# --no-deps: plain install would ask Galaxy for amazon.aws, which is linked in beside it instead. The path installed
# into is the collections path of the install, so ansible-galaxy has no reason to warn that it is not.
$(addprefix install-,$(LEGS)): install-%: venv-% tarball
	@rm -rf $(call installed,$*)
	@out=$$(ANSIBLE_COLLECTIONS_PATH=$(call installed,$*) $(VENV)/$*/bin/ansible-galaxy collection install --no-deps \
		--force -p $(call installed,$*)/ansible_collections $(TARBALL) 2>&1) || { echo "$$out"; exit 1; }
	@ln -sfn ../../ansible_collections/amazon $(call installed,$*)/ansible_collections/amazon
	@echo "installed imagebuilder_ops.aws $(VERSION) into $(call installed,$*), beside amazon.aws"

# The legs side by side, each one's output in one piece; a leg's targets one after the other (side by side, with an
# endpoint and a copy each, measured no faster).
integration: legs-available ## ansible-test integration on every leg, against the local endpoint
	@$(MAKE) -j$(words $(READY_LEGS)) --output-sync=target $(addprefix integration-,$(READY_LEGS))

# From the leg's venv, on the source (the release checks install the tarball). setup.yml starts the local endpoint
# with ENDPOINT_LEG's Python and writes its URL and fake credentials where ansible-test reads them; teardown.yml, run
# whatever happened (EXIT trap, its status counts), stops it and fails if a fake credential appears in ansible-test's
# output. ansible-test passes no AWS_* variable to the targets.
$(addprefix integration-,$(LEGS)): integration-%: venv-%
	@tools/stage.sh $(call integration_dir,$*)
	@ln -sfn ../../ansible_collections/amazon $(call integration_root,$*)/ansible_collections/amazon
	@rm -f $(call integration_log,$*)
	cd $(call integration_dir,$*) && export $(call test_env,$*) ANSIBLE_LOCALHOST_WARNING=false \
		ANSIBLE_INVENTORY_UNPARSED_WARNING=false && \
	trap 'rc=$$?; ansible-playbook $(LOCALENV)/teardown.yml -e imagebuilder_test_output=$(call integration_log,$*) \
		|| rc=1; exit $$rc' EXIT && \
	ansible-playbook $(LOCALENV)/setup.yml \
		-e imagebuilder_endpoint_python=$(CURDIR)/$(VENV)/$(ENDPOINT_LEG_$*)/bin/python && \
	ansible-test integration --local --python $(call leg_pyver,$*) --color no --continue-on-error \
		$(INTEGRATION_TARGETS) 2>&1 | tee $(call integration_log,$*)
$(foreach l,$(LEGS),$(eval integration-$(l): venv-$(ENDPOINT_LEG_$(l))))

drills: drills-$(DRILL_LEG) ## tests/drills/run.py (fault and load drills) on the drill leg

$(addprefix drills-,$(LEGS)): drills-%: install-%
	$(call leg_env,$*) $(call run_module,$*,tests.drills.run) --leg $* --collections-path $(call installed,$*)

# The event source's guide rulebook in the real ansible-rulebook, in each layout users install it in: the collection
# installed on the core219 leg, or the tarball installed by the layout itself, with ansible-core (.venv/eda) or the
# ansible package (.venv/eda-ansible; without Python >= 3.12 its layouts are skipped, loudly, and CI fails).
EDA_ANSIBLE := $(filter eda-ansible,$(READY_VENVS))
eda: legs-available eda-venv $(addsuffix -venv,$(EDA_ANSIBLE)) install-core219 ## the event source in ansible-rulebook
	$(call run_module,eda,tests.eda.run) --collections-path $(call installed,core219) --tarball $(TARBALL) \
		$(if $(EDA_ANSIBLE),--ansible-venv $(VENV)/eda-ansible)

demo: install-core219 ## the whole story against the local endpoint: a policy created, previewed, run, compared
	@$(call leg_env,core219) $(call run_module,core219,demo.run) --collections-path $(call installed,core219)

# For trying the collection by hand (docs/docsite/rst/try_it_locally.rst): the demo's scenario on ENDPOINT_PORT (0: a
# free one), with the botocore model of the core219 leg.
ENDPOINT_SCENARIO ?= tests/local_endpoint/scenarios/demo.json
ENDPOINT_PORT ?= 0
endpoint: install-core219 ## serve the local endpoint with the demo's scenario, print what to export; Ctrl-C stops it
	@$(VENV)/core219/bin/python tools/endpoint.py --scenario $(ENDPOINT_SCENARIO) --port $(ENDPOINT_PORT) \
		--collections-path $(call installed,core219) --venv $(VENV)/core219

# tests/release/docs_site.py (a release check too) over the collection installed on the core221 leg; warnings fail it.
DOCS_SITE := $(BUILD)/docs
docs: tools-venv install-core221 ## the docs site (antsibull-docs and Sphinx) in .build/docs
	@rm -rf $(DOCS_SITE)
	@out=$$($(VENV)/tools/bin/python tests/release/docs_site.py $(call installed,core221) $(DOCS_SITE) 2>&1) || \
		{ echo "$$out"; exit 1; }
	@echo "docs site: $(DOCS_SITE)/build/html/collections/imagebuilder_ops/aws/index.html"

# On the core221 leg's Python; without it they are skipped like the leg (CI fails). Absolute paths: the script may
# change directory.
ifeq ($(filter core221,$(READY_LEGS)),)
release-checks: legs-available
	@echo "!!! NOTE: release-checks SKIPPED-UNAVAILABLE: they need the core221 leg's Python >= 3.12"
else
release-checks: tools-venv eda-venv install-core221 ## tests/release: docs, changelog, ansible-lint, importer, ...
	TOOLS_VENV=$(CURDIR)/$(VENV)/tools COLLECTIONS_ROOT=$(CURDIR)/$(call installed,core221) \
		TARBALL=$(CURDIR)/$(TARBALL) SUPPORT_ROOT=$(SUPPORT_ROOT) RULEBOOK_BIN=$(CURDIR)/$(VENV)/eda/bin \
		bash tests/release/run_checks.sh
endif

# The results go into this checkout's docs/performance.md, not into the copy the benchmarks run from.
bench: install-core221 awscli-venv ## benchmarks against the local endpoint and the AWS CLI (docs/performance.md)
	$(call leg_env,core221) $(call run_module,core221,benchmarks.run) --collections-path $(call installed,core221) \
		--aws-cli $(CURDIR)/$(VENV)/awscli/bin/aws --doc $(CURDIR)/docs/performance.md

clean: ## remove .venv .build .cache dist
	rm -rf $(VENV) $(BUILD) .cache $(DIST)
