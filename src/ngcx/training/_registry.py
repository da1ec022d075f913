"""The training commands: name -> (module of ``ngcx.training``, task class, one line).

Kept free of JAX imports so that ``ngcx --help`` and ``ngcx train --help`` list the
commands without loading any model."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from ._task import AbstractTask


__all__ = ["TASKS", "get_task", "task_names"]

TASKS: dict[str, tuple[str, str, str]] = {
    "pcn": ("pcn", "PCNTask", "discriminative predictive coding network (ngc-museum pc_discrim)"),
    "conv-pc": ("conv_pc", "ConvPCTask", "convolutional predictive coding (sparse filters)"),
    "snn-stdp": ("snn_stdp", "SNNSTDPTask", "Diehl & Cook spiking network, trace STDP"),
    "snn-surrogate": (
        "snn_surrogate",
        "SNNSurrogateTask",
        "two-layer LIF network trained by surrogate-gradient BPTT",
    ),
    "pc-recon": (
        "pc_recon",
        "PCReconTask",
        "generative predictive coding: reconstruction and sampling (pc_recon)",
    ),
    "harmonium": (
        "harmonium",
        "HarmoniumTask",
        "restricted Boltzmann machine trained by contrastive divergence (harmonium)",
    ),
    "bfa-snn": (
        "bfa_snn",
        "BFASNNTask",
        "spiking classifier trained by broadcast feedback alignment (bfa_snn)",
    ),
    "rl-snn": (
        "rl_snn",
        "RLSNNTask",
        "spiking controller, reward-modulated STDP with eligibility traces (rl_snn)",
    ),
    "sparse-coding": (
        "sparse_coding",
        "SparseCodingTask",
        "sparse coding of natural-image patches (Olshausen & Field; olshausen_sc)",
    ),
    "som": ("som", "SOMTask", "self-organising map fitted online (Kohonen; self_organizing_map)"),
    "sindy": ("sindy", "SINDyTask", "sparse identification of nonlinear dynamics (sindy)"),
    "hidden-pcn": (
        "hidden_pcn",
        "HiddenPCNTask",
        "sub-network of a random PCN found by Hebbian scores (Hidden_PCN)",
    ),
    "ei-rnn": ("ei_rnn", "EIRNNTask", "excitatory-inhibitory RNN, online local learning (ei_rnn)"),
    "evstdp-patches": (
        "evstdp_patches",
        "EvSTDPPatchesTask",
        "spiking winner-take-all layer, event-driven STDP on patches (evstdp_patches)",
    ),
    "ti-stdp": (
        "ti_stdp",
        "TISTDPTask",
        "two-layer spiking network, time-integrated STDP (time-integrated-stdp)",
    ),
}


def task_names() -> list[str]:
    """The registered training commands."""
    return list(TASKS)


def get_task(name: str) -> AbstractTask:
    """The task of the training command `name` (``ValueError`` naming the known ones)."""
    if name not in TASKS:
        raise ValueError(f"`name` must be one of {', '.join(TASKS)}, got {name!r}.")
    module, cls, _ = TASKS[name]
    return getattr(importlib.import_module(f"ngcx.training.{module}"), cls)()
