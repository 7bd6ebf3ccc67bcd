# qm-ha: make lab | make test | make drill | make check | make status | make bench | make lab-down
# Everything a target needs is installed by the target itself (Debian 12, as root).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYINFRA := $(VENV)/bin/pyinfra
HOST_PACKAGES := docker.io debootstrap python3-venv openssh-client e2fsprogs

.PHONY: lab lab-up lab-down test host-deps venv deploy verify drill check status bench

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
