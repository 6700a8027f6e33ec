"""Patch kind's images/base/files for a node base image built from Debian packages (hack/kind/node-image.sh).

- no fuse-overlayfs (kind builds it from GitHub; only rootless needs it): drop its unit and containerd proxy plugin;
- Debian's containerd lives in /usr/bin, its CNI plugins in /usr/lib/cni.
Every replaced text is asserted, so a kind bump that changes these files fails here, loudly.
"""

from __future__ import annotations

import sys
from pathlib import Path


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        sys.exit(f"patch_kind_files: {path}: expected text not found (kind changed?): {old[:60]!r}")
    path.write_text(text.replace(old, new, 1))


def main(files: Path) -> None:
    (files / "etc/systemd/system/containerd-fuse-overlayfs.service").unlink(missing_ok=True)
    replace_once(
        files / "etc/systemd/system/containerd.service",
        "ExecStart=/usr/local/bin/containerd",
        "ExecStart=/usr/bin/containerd",
    )
    config = files / "etc/containerd/config.toml"
    replace_once(
        config,
        '[proxy_plugins]\n# fuse-overlayfs is used for rootless\n[proxy_plugins."fuse-overlayfs"]\n'
        '  type = "snapshot"\n  address = "/run/containerd-fuse-overlayfs.sock"\n',
        "# rayctl: no fuse-overlayfs proxy plugin (not built); Debian's CNI plugins live in /usr/lib/cni\n",
    )
    replace_once(
        config,
        "  restrict_oom_score_adj = false",
        '  restrict_oom_score_adj = false\n[plugins."io.containerd.grpc.v1.cri".cni]\n'
        '  bin_dir = "/usr/lib/cni"\n  conf_dir = "/etc/cni/net.d"',
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
