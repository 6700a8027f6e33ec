"""Drop the CUDA libraries a CPU-only torch never loads (docker/Dockerfile.cpu, "torch" variant).

PyPI's torch for Linux is the CUDA build: `import torch` dlopens torch/_C, whose DT_NEEDED chain reaches libcudart,
libcublas, libcudnn (the small dispatcher), libnccl, ... in the nvidia-* wheels. Those must exist for the import to
work even on a machine without a GPU; everything else in the nvidia-* wheels (cuDNN's engine libraries, static
libraries, headers, tools) is only loaded when a CUDA kernel runs. This keeps the DT_NEEDED closure of torch/_C and
libtorch_global_deps and deletes the rest of nvidia/*. Standard library only (the image has no binutils).

    python prune_cuda.py VENV      # prints what it kept and freed
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

PT_LOAD, PT_DYNAMIC, DT_NEEDED, DT_STRTAB = 1, 2, 1, 5


def needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of a 64-bit little-endian ELF shared object."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []
    entries = [struct.unpack_from("<qQ", data, dynamic[0] + o) for o in range(0, dynamic[1], 16)]
    strtab_vaddr = next(val for tag, val in entries if tag == DT_STRTAB)
    strtab = next(off + strtab_vaddr - va for va, off, size in loads if va <= strtab_vaddr < va + size)
    names = []
    for tag, val in entries:
        if tag == DT_NEEDED:
            end = data.index(b"\0", strtab + val)
            names.append(data[strtab + val : end].decode())
    return names


def main(venv: Path) -> None:
    site = next(venv.glob("lib/python3*/site-packages"))
    torch_lib, nvidia = site / "torch" / "lib", site / "nvidia"
    index: dict[str, Path] = {}
    for d in [torch_lib, *nvidia.glob("*/lib")]:
        for f in d.iterdir():
            if ".so" in f.name:
                index.setdefault(f.name, f)
    todo = [*site.glob("torch/_C*.so"), torch_lib / "libtorch_global_deps.so"]
    keep: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in keep or not f.exists():
            continue
        keep.add(f)
        keep.add(f.resolve())
        todo.extend(index[n] for n in needed(f.resolve()) if n in index)
    kept = freed = 0
    for f in sorted(nvidia.rglob("*")):
        if f.is_dir() or f.suffix == ".py" or f.name == "py.typed":
            continue
        if f in keep or f.resolve() in keep:
            kept += f.stat().st_size
        else:
            freed += f.lstat().st_size
            f.unlink()
    print(f"prune_cuda: kept {kept / 1e6:.0f} MB of CUDA libraries torch links, freed {freed / 1e6:.0f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
