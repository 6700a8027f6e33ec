"""Where the KubeRay CRD schemas come from: a folder (`--crd-dir`, `$RAYCTL_CRD_DIR`), the user cache filled by
`rayctl crds pull`, or the cluster itself (`--from-cluster`, and always for `apply`/`diff`).

A source answers `schema(kind, version)` with the CRD's openAPIV3Schema, or None when it has no such CRD.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from rayctl.cache import user_cache, write_atomically
from rayctl.errors import ClusterError, InputError, RayctlError
from rayctl.validate.crd import CRD_FILES, crd_schema, load_crd

KUBERAY_VERSION = "v1.7.0"
"""The KubeRay release whose CRDs rayctl validates against by default."""
CRD_BASE_URL = "https://raw.githubusercontent.com/ray-project/kuberay"
CRD_PATH = "ray-operator/config/crd/bases"
KNOWN_SHA256: dict[str, dict[str, str]] = {
    "v1.7.0": {
        "ray.io_rayclusters.yaml": "c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1",
        "ray.io_rayjobs.yaml": "01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5",
        "ray.io_rayservices.yaml": "0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab",
    },
}
"""Checksums of the released files: a pull of a known version that does not match them is refused."""
HOW_TO_SUPPLY = (
    "pass --crd-dir DIR (a folder with KubeRay's CRD YAML files) or set $RAYCTL_CRD_DIR, run `rayctl crds pull` "
    "once (caches KubeRay " + KUBERAY_VERSION + "'s CRDs), or validate against a cluster with --from-cluster"
)


class CrdSource(Protocol):
    @property
    def label(self) -> str: ...

    def schema(self, kind: str, version: str) -> dict[str, Any] | None: ...


@dataclass
class DirCrds:
    """CRD files in a folder (KubeRay's `ray-operator/config/crd/bases` layout: ray.io_rayservices.yaml, ...)."""

    path: Path
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or str(self.path)
        if not self.path.is_dir():
            raise InputError(f"{self.path}: no such CRD folder", hint=HOW_TO_SUPPLY)

    def schema(self, kind: str, version: str) -> dict[str, Any] | None:
        crd = load_crd(self.path, "ray.io", kind)
        return crd_schema(crd, version) if crd else None


@dataclass
class ClusterCrds:
    """The CRDs the cluster serves, read through `get_crd(name)` (the k8s adapter's read)."""

    get_crd: Callable[[str], dict[str, Any] | None]
    label: str = "the cluster"
    _cache: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def schema(self, kind: str, version: str) -> dict[str, Any] | None:
        name = f"{kind.lower()}s.ray.io"
        if name not in self._cache:
            try:
                self._cache[name] = self.get_crd(name)
            except ClusterError:  # e.g. no RBAC on CRDs: other sources may still answer
                self._cache[name] = None
        crd = self._cache[name]
        return crd_schema(crd, version) if crd else None


@dataclass
class FirstOf:
    """The first source that has the CRD."""

    sources: Sequence[CrdSource]

    @property
    def label(self) -> str:
        return " then ".join(s.label for s in self.sources)

    def schema(self, kind: str, version: str) -> dict[str, Any] | None:
        for source in self.sources:
            found = source.schema(kind, version)
            if found is not None:
                return found
        return None


def crd_cache_root() -> Path:
    """Where `rayctl crds pull` keeps CRDs: $RAYCTL_CRD_CACHE, else $XDG_CACHE_HOME/rayctl/crds, else
    ~/.cache/rayctl/crds (one folder per KubeRay version)."""
    return user_cache("crds", "RAYCTL_CRD_CACHE")


def cached_crd_dir(version: str = KUBERAY_VERSION) -> Path:
    return crd_cache_root() / version


def local_source(crd_dir: Path | None) -> CrdSource | None:
    """--crd-dir, else $RAYCTL_CRD_DIR, else the cache `rayctl crds pull` fills; None when there is none."""
    if crd_dir is not None:
        return DirCrds(crd_dir)
    env = os.environ.get("RAYCTL_CRD_DIR")
    if env:
        return DirCrds(Path(env), label=f"$RAYCTL_CRD_DIR ({env})")
    try:
        cached = cached_crd_dir()
    except OSError:  # no folder for caches (rayctl.cache.NoCacheFolder): nothing was pulled
        return None
    if (cached / CRD_FILES[("ray.io", "RayService")]).exists():
        return DirCrds(cached, label=f"the rayctl cache ({cached})")
    return None


def schemas_for(source: CrdSource | None, objects: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kind -> openAPIV3Schema for every ray.io kind among `objects` that `source` has."""
    out: dict[str, dict[str, Any]] = {}
    if source is None:
        return out
    for obj in objects:
        kind = str(obj.get("kind", ""))
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        if group == "ray.io" and ("ray.io", kind) in CRD_FILES and kind not in out:
            found = source.schema(kind, version)
            if found is not None:
                out[kind] = found
    return out


# --------------------------------------------------------------------------------------------- `rayctl crds pull`


def _download(url: str, timeout_s: float) -> bytes:
    import urllib.error  # only `rayctl crds pull` needs HTTP: keep it out of every other command's start-up
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        raise RayctlError(f"{url}: HTTP {exc.code} {exc.reason}",
                          hint="check --version (a KubeRay release tag, e.g. v1.7.0)") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RayctlError(f"{url}: cannot download ({reason})",
                          hint="no network? copy the CRD files and pass --crd-dir instead") from exc


def pull_crds(version: str = KUBERAY_VERSION, *, base_url: str = CRD_BASE_URL, dest: Path | None = None,
              timeout_s: float = 30.0) -> list[Path]:
    """Download the release's CRD files into the cache (or `dest`), checked: each must parse as a ray.io
    CustomResourceDefinition, and match the known checksum of a known release. Files appear atomically."""
    try:
        target = dest or cached_crd_dir(version)
    except OSError as exc:
        raise RayctlError(str(exc), hint="or pass --dest DIR") from exc
    expected = KNOWN_SHA256.get(version, {})
    fetched: dict[str, bytes] = {}
    for name in sorted(set(CRD_FILES.values())):
        url = f"{base_url.rstrip('/')}/{version}/{CRD_PATH}/{name}"
        data = _download(url, timeout_s)
        digest = hashlib.sha256(data).hexdigest()
        if name in expected and digest != expected[name]:
            raise RayctlError(f"{url}: checksum mismatch (sha256 {digest}, KubeRay {version} has {expected[name]})")
        try:
            doc = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise RayctlError(f"{url}: not YAML ({exc})") from exc
        if not (isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
                and (doc.get("spec") or {}).get("group") == "ray.io"):
            raise RayctlError(f"{url}: not a ray.io CustomResourceDefinition")
        fetched[name] = data
    written = []
    try:
        for name, data in fetched.items():
            write_atomically(target / name, data)
            written.append(target / name)
    except OSError as exc:
        raise RayctlError(f"{target}: cannot write the CRD files ({exc.strerror or exc})",
                          hint="pass --dest DIR, or set $RAYCTL_CRD_CACHE to a writable folder") from exc
    return written
