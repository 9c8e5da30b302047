# The two commands of the README: `make demo` (the main job) and `make test`.
# Each creates or reuses .venv and installs what it needs; torch comes in as the CPU build
# (pinned in constraints.txt; /opt/wheels holds it on our lab machines).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FIND_LINKS := $(if $(wildcard /opt/wheels/*.whl),--find-links /opt/wheels,)
PIP := $(PY) -m pip install --disable-pip-version-check -q $(FIND_LINKS) -c constraints.txt
DEMO_DIR ?= demo_session
# movement (>= 0.17) needs Python >= 3.12: a separate venv checks that our files open in it.
# (a pyenv shim may exist without a working 3.12 behind it: take the first that runs)
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	$$p -c "import sys" >/dev/null 2>&1 && { command -v $$p; break; }; done)
MOVEMENT_VENV := .venv-movement
MOVEMENT_STAMP := $(MOVEMENT_VENV)/.installed

.PHONY: demo test lint typecheck pytest install clean movement-venv

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pose3d needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev]"
	touch $(STAMP)

# The main job: a synthetic session with ground truth -> calibration from its ChArUco video ->
# the true points of frame 0 as a person's clicks -> tracked through the video -> 3D ->
# pictures -> every stage against the truth.
demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(VENV)/bin/pose3d sample-data $(DEMO_DIR) --videos-only --label-frames 0
	$(VENV)/bin/pose3d calibrate $(DEMO_DIR)
	$(VENV)/bin/pose3d track $(DEMO_DIR) --view all
	$(VENV)/bin/pose3d triangulate $(DEMO_DIR) --method ransac
	$(VENV)/bin/pose3d view $(DEMO_DIR)/poses3d.nc --session $(DEMO_DIR) \
		--calibration $(DEMO_DIR)/calibration/calibration.toml --trail 10 \
		--frame 30 --screenshot $(DEMO_DIR)/poses3d.png
	$(VENV)/bin/pose3d view $(DEMO_DIR)/poses3d.nc --session $(DEMO_DIR) \
		--calibration $(DEMO_DIR)/calibration/calibration.toml --trail 10 \
		--width 640 --height 480 --movie $(DEMO_DIR)/poses3d.mp4
	$(VENV)/bin/pose3d view $(DEMO_DIR)/poses3d.nc --session $(DEMO_DIR) \
		--frame 30 --sheet $(DEMO_DIR)/sheet.png
	$(VENV)/bin/pose3d compare-truth $(DEMO_DIR)

lint: $(STAMP)
	$(VENV)/bin/ruff check pose3d tests benchmarks scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# one worker per core (pytest-xdist), a test file's tests in one worker so that its fixtures
# are built once: 7 min instead of 10 on the 2-core machine
pytest: $(STAMP) movement-venv
	$(PY) -m pytest -n auto --dist loadfile

# Without python3.12 the movement test skips and says why.
movement-venv:
ifneq ($(PYTHON312),)
	$(MAKE) $(MOVEMENT_STAMP)
endif

$(MOVEMENT_STAMP):
	test -x $(MOVEMENT_VENV)/bin/python || $(PYTHON312) -m venv $(MOVEMENT_VENV)
	$(MOVEMENT_VENV)/bin/python -m pip install --disable-pip-version-check -q "movement>=0.17"
	touch $(MOVEMENT_STAMP)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) $(MOVEMENT_VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
