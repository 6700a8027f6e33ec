"""Code delivery without an image rebuild: an app directory as a ConfigMap, mounted on every Ray pod.

Ray cannot use a local `working_dir` in a RayService (ray#33456, kuberay#510): the Serve config is applied by the
operator from inside the cluster, where the laptop's files do not exist. So the dev loop ships the code itself:

- `bundle_code(app_dir)` zips the package (`serve_apps/`, or a user's app directory) into one ConfigMap key
  (`binaryData["app.zip"]`). Python imports straight from the zip (zipimport) when the zip is on PYTHONPATH, so the
  mount needs no `items` list and nested packages keep their layout.
- The app's imports of rayctl itself travel in the same zip: serve_apps parse their args with the contract of
  `rayctl.apps.<type>` (the same module that rendered them), so `bundle_code` adds the closure of the rayctl modules
  the package imports (statically, from the AST; a package that discovers its modules at runtime, like the
  `rayctl.apps` registry, comes whole). The image then needs no rayctl: a change to an app's contract is a code
  change, not an image rebuild, and the args always meet the parser that matches the CLI that rendered them.
- `with_code_configmap(rayservice, configmap_name, mount_path)` mounts it on the Ray container of the head and of
  every worker group and puts the zip first on PYTHONPATH (the Serve controller on the head imports the app to build
  it; the replicas on the workers import it again).

The ConfigMap is named after the content (`<service>-code-<digest>`) and immutable: new code means a new name, so the
pod templates change and KubeRay rolls out a new RayCluster (a code change is a cluster change: running Python
processes never re-import). A ConfigMap is one object of at most 1 MiB; `bundle_code` refuses anything larger with
the sizes of the biggest files.

Everything here is pure (dicts and bytes in, dicts out); rayctl/devloop/up.py applies the results.
"""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import importlib.util
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rayctl.errors import InputError

ZIP_KEY = "app.zip"
CODE_VOLUME = "rayctl-code"
DEFAULT_MOUNT_PATH = "/opt/rayctl/code"
# etcd's default request limit: the API server refuses a ConfigMap whose serialised object is larger.
CONFIGMAP_LIMIT_BYTES = 1024 * 1024
# Room for what the server adds (managedFields, uid, resourceVersion, timestamps) on top of what we send.
SERVER_OVERHEAD_BYTES = 16 * 1024
LABEL_CODE_FOR = "rayctl.dev/code-for"
EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".so.tmp", ".swp")
# A fixed timestamp keeps the zip (and so the digest and the ConfigMap name) a function of the content only.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class CodeBundle:
    """A packaged app directory: the zip, its digest, and what was packed."""

    package: str  # the top-level import name (the directory's name), e.g. "serve_apps"
    data: bytes  # the zip
    digest: str  # sha256 of the zip, hex
    files: tuple[str, ...]  # paths inside the zip, e.g. "serve_apps/hello.py"
    uncompressed_bytes: int

    def configmap_name(self, service: str) -> str:
        """`<service>-code-<12 hex>`: DNS-1123, at most 63 characters."""
        return f"{service[:45]}-code-{self.digest[:12]}"

    def configmap(self, service: str, namespace: str | None = None) -> dict[str, Any]:
        """The immutable ConfigMap holding the zip (checked against the 1 MiB object limit)."""
        meta: dict[str, Any] = {
            "name": self.configmap_name(service),
            "labels": {"app.kubernetes.io/managed-by": "rayctl", LABEL_CODE_FOR: service[:63]},
            "annotations": {
                "rayctl.dev/code-package": self.package,
                "rayctl.dev/code-sha256": self.digest,
                "rayctl.dev/code-files": str(len(self.files)),
            },
        }
        if namespace:
            meta["namespace"] = namespace
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "immutable": True,
            "binaryData": {ZIP_KEY: base64.b64encode(self.data).decode("ascii")},
        }
        check_configmap_size(obj, self)
        return obj


def _included(rel: PurePosixPath) -> bool:
    if any(part in EXCLUDED_DIRS or part.startswith(".") for part in rel.parts):
        return False
    return not rel.name.endswith(EXCLUDED_SUFFIXES)


VENDORED = ("rayctl",)
"""Top-level packages whose modules an app imports travel with it (the rayctl the CLI runs from)."""


def _imports(source: str, module: str, is_package: bool, filename: str = "<unknown>") -> set[str]:
    """Modules `source` (module `module`) may import: `import a.b` -> a.b; `from a.b import c` -> a.b and a.b.c
    (c may be a submodule); relative imports resolved. Imports under `if TYPE_CHECKING:` are left out."""
    tree = ast.parse(source, filename)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _package_root(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def _module_file(root: Path, module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for candidate in (root / rel / "__init__.py", (root / rel).with_suffix(".py")):
        if candidate.is_file() and candidate != root.with_suffix(".py"):
            return candidate
    return None


def import_closure(sources: Iterable[tuple[Path, str]], vendored: Sequence[str] = VENDORED) -> dict[str, Path]:
    """Module name -> file of every module of the `vendored` packages that `sources` ((file, module name) of the
    app's .py files) import, directly or through each other, with the parent packages' __init__.py. Raises
    InputError when an app file cannot be parsed."""
    roots = {name: root for name in vendored if (root := _package_root(name)) is not None}
    found: dict[str, Path] = {}
    queue: list[str] = []
    for path, module in sources:
        try:
            queue += _imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", str(path))
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read the module's imports ({exc})",
                             hint="the app's Python files must parse (Ray would fail to import them too)") from exc
    while queue:
        name = queue.pop()
        top = name.split(".")[0]
        if top not in roots or name in found:
            continue
        module_file = _module_file(roots[top], name)
        if module_file is None:  # `from pkg import attribute`: not a module
            continue
        found[name] = module_file
        parts = name.split(".")
        queue += [".".join(parts[:i]) for i in range(1, len(parts))]
        text = module_file.read_text(encoding="utf-8")
        is_pkg = module_file.name == "__init__.py"
        queue += _imports(text, name, is_pkg)
        if is_pkg and "iter_modules(__path__)" in text:  # a registry: every module of the package
            queue += [f"{name}.{p.stem}" for p in sorted(module_file.parent.glob("*.py")) if p.name != "__init__.py"]
    return dict(sorted(found.items()))


def bundle_code(app_dir: str | Path, vendored: Sequence[str] = VENDORED) -> CodeBundle:
    """Zip `app_dir` (a Python package directory) so that `import <dirname>` works from the zip, together with the
    modules of the `vendored` packages (rayctl) it imports (see `import_closure`).

    Raises InputError when the directory is missing, is not a package, or is too big for one ConfigMap."""
    root = Path(app_dir)
    if not root.is_dir():
        raise InputError(f"{root}: app directory not found", hint="pass the directory of your Serve app package")
    if not (root / "__init__.py").is_file():
        raise InputError(
            f"{root}: not a Python package (no __init__.py)",
            hint=f"add {root}/__init__.py so that import paths like {root.name}.module:app resolve from the zip",
        )
    paths = sorted(
        p for p in root.rglob("*") if p.is_file() and _included(PurePosixPath(p.relative_to(root).as_posix()))
    )
    entries = [(f"{root.name}/{path.relative_to(root).as_posix()}", path) for path in paths]
    sources = [(path, arc[: -len(".py")].replace("/", ".").removesuffix(".__init__"))
               for arc, path in entries if path.suffix == ".py"]
    closure = import_closure(sources, [v for v in vendored if v != root.name])
    entries += [(module.replace(".", "/") + ("/__init__.py" if path.name == "__init__.py" else ".py"), path)
                for module, path in closure.items()]
    buf = io.BytesIO()
    names: list[str] = []
    total = 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for arc, path in entries:
            info = zipfile.ZipInfo(arc, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            total += len(data)
            zf.writestr(info, data)
            names.append(arc)
    data = buf.getvalue()
    bundle = CodeBundle(
        package=root.name,
        data=data,
        digest=hashlib.sha256(data).hexdigest(),
        files=tuple(names),
        uncompressed_bytes=total,
    )
    check_configmap_size({"binaryData": {ZIP_KEY: base64.b64encode(data).decode("ascii")}}, bundle, root)
    return bundle


def check_configmap_size(obj: dict[str, Any], bundle: CodeBundle, root: Path | None = None) -> None:
    """Raise InputError when `obj` (a ConfigMap) cannot be stored: the API server's limit is 1 MiB per object."""
    size = len(json.dumps(obj, separators=(",", ":")))
    budget = CONFIGMAP_LIMIT_BYTES - SERVER_OVERHEAD_BYTES
    if size <= budget:
        return
    where = root if root is not None else bundle.package
    raise InputError(
        f"{where}: the code is {size / 1024:.0f} KiB as a ConfigMap ({bundle.uncompressed_bytes / 1024:.0f} KiB in "
        f"{len(bundle.files)} files, {len(bundle.data) / 1024:.0f} KiB zipped, base64 in the object), over the "
        f"{budget / 1024:.0f} KiB a ConfigMap can hold (1 MiB per object, less the server's metadata)",
        hint="keep models and data out of the app directory (load them from a volume or bake them into the image), "
        "or build an image with the code (docker/Dockerfile.cpu, target apps)",
    )


def zip_pythonpath(mount_path: str) -> str:
    """The PYTHONPATH entry for the mounted zip."""
    return str(PurePosixPath(mount_path) / ZIP_KEY)


def _ray_container(template: dict[str, Any]) -> dict[str, Any] | None:
    containers = ((template.get("spec") or {}).get("containers")) or []
    # KubeRay runs Ray in the first container of each group's template; later ones are sidecars.
    return containers[0] if containers and isinstance(containers[0], dict) else None


def _add_to_template(template: dict[str, Any], configmap_name: str, mount_path: str) -> None:
    spec = template.setdefault("spec", {})
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") != CODE_VOLUME]
    volumes.append({"name": CODE_VOLUME, "configMap": {"name": configmap_name}})
    spec["volumes"] = volumes
    container = _ray_container(template)
    if container is None:
        raise InputError("a Ray pod template has no containers: cannot mount the code ConfigMap")
    mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") != CODE_VOLUME]
    mounts.append({"name": CODE_VOLUME, "mountPath": mount_path, "readOnly": True})
    container["volumeMounts"] = mounts
    entry = zip_pythonpath(mount_path)
    env = list(container.get("env") or [])
    current = next((e for e in env if e.get("name") == "PYTHONPATH"), None)
    if current is None:
        env.append({"name": "PYTHONPATH", "value": entry})
    elif "value" in current:
        rest = [p for p in str(current["value"]).split(":") if p and p != entry]
        current["value"] = ":".join([entry, *rest])
    else:
        raise InputError("PYTHONPATH of a Ray container comes from valueFrom: cannot put the code zip in front")
    container["env"] = env


def with_code_configmap(rayservice: dict[str, Any], configmap_name: str, mount_path: str) -> dict[str, Any]:
    """A copy of `rayservice` (a rendered RayService dict) whose head and worker Ray containers mount the ConfigMap
    `configmap_name` at `mount_path` and import from its zip first (PYTHONPATH). Idempotent."""
    if rayservice.get("kind") != "RayService":
        raise InputError(f"expected a RayService, got {rayservice.get('kind')!r}")
    if not PurePosixPath(mount_path).is_absolute():
        raise InputError(f"mount path {mount_path!r} must be absolute")
    out = copy.deepcopy(rayservice)
    cluster = (out.get("spec") or {}).get("rayClusterConfig")
    if not isinstance(cluster, dict) or not isinstance(cluster.get("headGroupSpec"), dict):
        raise InputError("the RayService has no spec.rayClusterConfig.headGroupSpec")
    _add_to_template(cluster["headGroupSpec"].setdefault("template", {}), configmap_name, mount_path)
    for group in cluster.get("workerGroupSpecs") or []:
        _add_to_template(group.setdefault("template", {}), configmap_name, mount_path)
    return out
