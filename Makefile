# Three commands for a fresh machine with only python3 (3.10 to 3.13):
#   make lab    set up, fetch the model, open JupyterLab on notebooks/
#   make test   set up with the dev tools, run the checks and the whole test suite (offline)
#   make demo   set up, fetch the model, colourise input_images/ into colorized_images/
# Each is idempotent: the set-up reruns only when requirements*.txt or pyproject.toml change.
#
# Options for JupyterLab: make lab JUPYTER_ARGS="--no-browser --port 9999"

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
DEV_READY := $(VENV)/.ready-dev
STANDIN := build/standin-model
JUPYTER_ARGS ?=
# JupyterLab refuses to start as root without --allow-root (Docker images, many cloud notebooks,
# CI run as root), so it is added for root only.
USER_ID ?= $(shell id -u 2>/dev/null)
ALLOW_ROOT := $(if $(filter 0,$(USER_ID)),--allow-root)

.PHONY: help lab app test demo model standin clean

help:
	@echo "make lab    - set up, fetch the model and open JupyterLab (options: JUPYTER_ARGS=\"--no-browser --port 9999\")"
	@echo "make app    - set up, fetch the model and start the classroom web app (options: APP_ARGS=\"--host 0.0.0.0\")"
	@echo "make test   - set up with dev tools and run all tests (offline)"
	@echo "make demo   - set up, fetch the model and colourise input_images/"
	@echo "make standin - build a stand-in model (random weights) in $(STANDIN) for offline demos (no download)"
	@echo "make clean  - delete build/, test output and the results in colorized_* (keeps .venv and model/)"

# The stamp is written only after a successful install, so a failed one is retried next time.
$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 to 3.13 is needed, this is " + sys.version.split()[0])'
	@$(PYTHON) -c 'import sys; sys.version_info < (3, 14) or print("Note: Python " + sys.version.split()[0] + " is newer than the tested 3.10 to 3.13; if pip cannot install something, use 3.13 (make PYTHON=python3.13 ...).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the Python packages into $(VENV) (the first time: a few minutes, about 1 GB)..."
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -e .
	@touch $@

$(DEV_READY): $(READY) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

model: $(READY)
	@$(BIN)/python -m helpers fetch || { \
	  echo ""; \
	  echo "Could not fetch the model (are you offline?). The Python environment in $(VENV) is ready;"; \
	  echo "only the model files are missing. See README.md, 'Getting the model by hand'."; \
	  exit 1; }

# JupyterLab starts even when the model cannot be fetched: notebook 01 needs no model at all.
lab: $(READY)
	@$(BIN)/python -m helpers fetch || { \
	  echo ""; \
	  echo "Could not fetch the model (are you offline?). JupyterLab starts anyway: notebook 01 needs no model."; \
	  echo "For notebooks 02 to 04 without it: make standin (random colours, for trying things out), or see"; \
	  echo "README.md, 'Getting the model by hand'."; echo ""; }
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(JUPYTER_ARGS) notebooks/

app: model
	$(BIN)/python -m helpers app $(APP_ARGS)

test: $(DEV_READY)
	$(BIN)/ruff check helpers tests tools bench
	$(if $(wildcard notebooks/*.ipynb),$(BIN)/nbstripout --verify $(wildcard notebooks/*.ipynb))
	$(BIN)/python -m pytest

demo: model
	$(BIN)/python -m helpers photo input_images --out colorized_images
	@echo "Done: the colourised photos are in colorized_images/"

# Offline: the prototxt and cluster centres come with the repository (model/); the weights are generated.
standin: $(READY)
	$(BIN)/python -m tools.standin_model $(STANDIN)

clean:
	rm -rf build test-output .pytest_cache
	find colorized_images colorized_frames colorized_videos -mindepth 1 ! -name .gitkeep -delete
