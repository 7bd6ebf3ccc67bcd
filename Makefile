# qm-ha: make lab | make test | make test-all | make drill | make check | make status | make bench | make lab-down
# Everything a target needs is installed by the target itself (Debian 12, as root).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYINFRA := $(VENV)/bin/pyinfra
HOST_PACKAGES := docker.io debootstrap python3-venv openssh-client e2fsprogs

# A Debian 13 lab of its own, beside the default one (make test-all, make lab13-down)
LAB13 := LAB_OS=debian13 LAB_PREFIX=qmha13 LAB_SUBNET=10.213.79.0/24 LAB_STATE_DIR=.lab-debian13 \
         QMHA_LAB_STATE=.lab-debian13/state.json

.PHONY: lab lab-up lab-down lab13-down test test-all host-deps venv deploy verify drill check status bench

host-deps:
	@missing=""; for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

lab-up: host-deps venv
	$(PY) -m lab up

deploy: lab-up
	$(PYINFRA) -y inventories/lab.py deploy.py

verify:
	$(PY) -m lab verify

lab: deploy
	@$(MAKE) --no-print-directory verify

lab-down: venv
	$(PY) -m lab down

test: host-deps venv
	$(PY) -m pytest tests

# make test, then the lab-level suites (lab behaviour, the drill, testinfra) on a Debian 13 lab
test-all: test
	$(LAB13) $(PY) -m pytest tests/lab tests/infra

lab13-down: venv
	$(LAB13) $(PY) -m lab down

drill: venv
	$(PY) -m drill inventories/lab.py --json .lab/drill.json --figure .lab/drill

# Both databases equal, table by table (any inventory: python -m drill.consistency INVENTORY)
check: venv
	$(PY) -m drill.consistency inventories/lab.py

# The cluster at a glance (any inventory: python -m drill.status INVENTORY [--json])
status: venv
	$(PY) -m drill.status inventories/lab.py

# Figures, each next to its floor, in one table (recreates the lab's nodes; see bench/run.py)
bench: host-deps venv
	$(PY) bench/run.py
