"""The local kind loop behind `rayctl dev up|down`.

Pure helpers (unit-tested in tests/unit/test_devloop_*.py) and one orchestration module:
- code.py      app directory -> immutable ConfigMap (zip) + `with_code_configmap` for a rendered RayService
- tools.py     which external tools (docker, kind, kubectl, helm) are needed, where they are, how to get them
- kind.py      kind-config.yaml handling (host ports, node names) and the kind/kubectl command lines
- expose.py    the Serve NodePort (`<name>-serve-svc`) and the dashboard Service the kind port mappings reach
- operator.py  the KubeRay operator: the Helm command, or offline manifests from the operator's module source
- up.py        `dev up` / `dev down`: runs the steps above through subprocess, progress on stderr
"""
