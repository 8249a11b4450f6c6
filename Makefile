# Two commands on a fresh machine: `make demo` and `make test` (README Quick start).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test sysdeps venv bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The TUI on the simulated ML cluster (a real Prometheus when the binary is installed).
demo: venv
	$(VENV)/bin/kubewatch-ml demo

# External binaries the tests drive (kubectl, prometheus, chromium, tmux): installed when root can.
sysdeps:
	bash scripts/install-sysdeps.sh

test: venv sysdeps
	bash scripts/run-tests.sh

# Each benchmark prints its own usage; figures go to BENCHMARKS.md with the machine and the command.
bench: venv
	@for f in bench/*.py; do echo "$(PY) $$f --help"; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
