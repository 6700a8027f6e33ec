"""Accelerator names Ray knows, and what Ray detects on a node by itself.

`accelerator_type` (in `ray_actor_options` or an LLM config) becomes the Ray resource `accelerator_type:<name>`.
Ray's node manager adds that resource itself on every GPU, TPU and Neuron node (the GPU model read from the
driver: NVML for NVIDIA, amdsmi for AMD, ...), so a worker group need not declare it: an H100 pod offers
`accelerator_type:H100` without a word in the manifest. What a manifest cannot say is which model a GPU pod
will get, so the rules accept a known name on any GPU group that declares no other type, and reject a name Ray
does not know (Ray Serve LLM refuses it: `LLMConfig.accelerator_type` must be one of these; a replica asking for
an unknown one never schedules).

KNOWN_ACCELERATORS are Ray Serve LLM's `AcceleratorType` values in Ray 2.60 (a superset of `ray.util.accelerators`;
tests/unit/test_upstream_shapes.py compares both with the installed Ray when it is there).
"""

from __future__ import annotations

import re

NVIDIA = frozenset({
    "V100", "P100", "T4", "P4", "K80", "A10G", "L4", "L40S", "A100", "A100-40G", "A100-80G", "H100", "H200",
    "H20", "B200", "B300", "GB200", "GB300", "RTX-PRO-6000",
})
AMD = frozenset({
    "AMD-Instinct-MI100", "AMD-Instinct-MI210", "AMD-Instinct-MI250X", "AMD-Instinct-MI250X-MI250",
    "AMD-Instinct-MI300A", "AMD-Instinct-MI300X-OAM", "AMD-Instinct-MI300X-HF", "AMD-Instinct-MI308X",
    "AMD-Instinct-MI325X-OAM", "AMD-Instinct-MI350X-OAM", "AMD-Instinct-MI355X-OAM",
    "AMD-Radeon-R9-200-HD-7900", "AMD-Radeon-HD-7900",
})
INTEL = frozenset({"Intel-GPU-Max-1550", "Intel-GPU-Max-1100", "Intel-GAUDI"})
METAX = frozenset({"MXC500", "MXC550"})
TPU = frozenset({"TPU-V2", "TPU-V3", "TPU-V4", "TPU-V5P", "TPU-V5LITEPOD", "TPU-V6E", "TPU-V7X"})
OTHER = frozenset({"aws-neuron-core", "Ascend910B", "Ascend910B4", "FURIOSA_RNGD", "MOBILINT_ARIES",
                   "MOBILINT_REGULUS", "Apple-Silicon", "M1", "M1-Pro", "M1-Max", "M1-Ultra", "M2", "M2-Pro",
                   "M2-Max", "M2-Ultra", "M3", "M3-Pro", "M3-Max"})
GPU_ACCELERATORS = NVIDIA | AMD | INTEL | METAX
KNOWN_ACCELERATORS = GPU_ACCELERATORS | TPU | OTHER
ALIASES = {"A10": "A10G"}  # Ray Serve LLM turns A10 into A10G

ACCELERATOR_RESOURCE = "accelerator_type:"
_TPU_HEAD = re.compile(r"^TPU-[A-Za-z0-9]+-\d+-head$")  # Ray adds it on the first host of a TPU slice


def known(name: str) -> bool:
    return name in KNOWN_ACCELERATORS or name in ALIASES


def is_tpu_head_resource(name: str) -> bool:
    return bool(_TPU_HEAD.match(name))


def detected_on(name: str, *, gpus: float, tpus: float, neuron_cores: float) -> bool:
    """Whether Ray would detect accelerator `name` itself on a node with these devices (for a known name)."""
    if name in GPU_ACCELERATORS:
        return gpus > 0
    if name in TPU:
        return tpus > 0
    if name == "aws-neuron-core":
        return neuron_cores > 0
    return name in OTHER  # NPUs and Apple chips: devices a manifest cannot describe; Ray detects them
