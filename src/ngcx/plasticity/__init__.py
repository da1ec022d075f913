"""Plasticity: local rules written once over a synapse's contraction, learning options as
optax transforms, and ngc-learn's plastic-synapse constructors as thin builders.

- Rules (:class:`AbstractRule`): :class:`Hebbian`, :class:`TraceSTDP`, :class:`ExpSTDP`,
  :class:`EventSTDP`, :class:`MSTDPET`, :class:`BCM` (threshold state), :class:`Oja`,
  :class:`GerstnerHebbian`, :class:`PairSTDP`, :class:`InhibitorySTDP`,
  :class:`REINFORCE` (:class:`REINFORCEState`); ``rule(synapse, *activity)`` returns updates shaped
  like any dense, conv or deconv synapse. :class:`TISTDP` (time-integrated STDP, from
  times of last spike) serves dense synapses, one sample at a time.
- Transforms (``optax.GradientTransformation``): :func:`scale_by_soft_bound`,
  :func:`scale_by_sign`, :func:`add_decay`, :func:`add_prior`, :func:`add_leak`,
  :func:`clip_weights`, :func:`keep_nonnegative`, :func:`mask_weights`,
  :func:`normalize_weights`; the chains :func:`hebbian` and :func:`stdp`.
- Applying: :func:`init`, :func:`apply_updates` (only synapses' weights and biases are
  plastic: :func:`plastic`, :func:`plastic_mask`), :func:`per_module`.
- ngc-learn's names: :func:`HebbianSynapse`, :func:`HebbianConvSynapse`,
  :func:`HebbianDeconvSynapse`, :func:`TraceSTDPSynapse`, :func:`ExpSTDPSynapse`,
  :func:`EventSTDPSynapse`, :func:`MSTDPETSynapse`, :func:`TraceSTDPConvSynapse`,
  :func:`TraceSTDPDeconvSynapse`, :func:`BCMSynapse`, :func:`STDPSynapse`,
  :func:`GerstnerHebbianSynapse`, :func:`InhibitorySTDPSynapse`, :func:`OjaTensorSynapse`,
  :func:`REINFORCESynapse`, each a :class:`PlasticSynapse` (synapse + rule +
  :class:`LearningOptions`).
"""

from ._apply import (
    apply_updates as apply_updates,
    init as init,
    per_module as per_module,
    plastic as plastic,
    plastic_mask as plastic_mask,
)
from ._builders import (
    BCMSynapse as BCMSynapse,
    GerstnerHebbianSynapse as GerstnerHebbianSynapse,
    InhibitorySTDPSynapse as InhibitorySTDPSynapse,
    OjaTensorSynapse as OjaTensorSynapse,
    REINFORCESynapse as REINFORCESynapse,
    STDPSynapse as STDPSynapse,
)
from ._compat import (
    EventSTDPSynapse as EventSTDPSynapse,
    ExpSTDPSynapse as ExpSTDPSynapse,
    HebbianConvSynapse as HebbianConvSynapse,
    HebbianDeconvSynapse as HebbianDeconvSynapse,
    HebbianSynapse as HebbianSynapse,
    LearningOptions as LearningOptions,
    MSTDPETSynapse as MSTDPETSynapse,
    PlasticSynapse as PlasticSynapse,
    TraceSTDPConvSynapse as TraceSTDPConvSynapse,
    TraceSTDPDeconvSynapse as TraceSTDPDeconvSynapse,
    TraceSTDPSynapse as TraceSTDPSynapse,
    conv_hebbian_rule as conv_hebbian_rule,
    conv_trace_stdp_rule as conv_trace_stdp_rule,
    event_stdp_rule as event_stdp_rule,
    exp_stdp_rule as exp_stdp_rule,
    hebbian_rule as hebbian_rule,
    parse_prior as parse_prior,
    trace_stdp_rule as trace_stdp_rule,
)
from ._competitive import (
    ART2A as ART2A,
    SOM as SOM,
    ART2ASynapse as ART2ASynapse,
    CompetitiveOptions as CompetitiveOptions,
    CompetitivePlasticSynapse as CompetitivePlasticSynapse,
    Hopfield as Hopfield,
    HopfieldSynapse as HopfieldSynapse,
    SOMSynapse as SOMSynapse,
    VectorQuantize as VectorQuantize,
    VectorQuantizeSynapse as VectorQuantizeSynapse,
)
from ._mps_rule import MPSHebbian as MPSHebbian
from ._patched import HebbianPatchedSynapse as HebbianPatchedSynapse
from ._reinforce import REINFORCE as REINFORCE, REINFORCEState as REINFORCEState
from ._rules import (
    MSTDPET as MSTDPET,
    AbstractRule as AbstractRule,
    EventSTDP as EventSTDP,
    ExpSTDP as ExpSTDP,
    Hebbian as Hebbian,
    TraceSTDP as TraceSTDP,
)
from ._rules_rate import BCM as BCM, GerstnerHebbian as GerstnerHebbian, Oja as Oja
from ._rules_spike import InhibitorySTDP as InhibitorySTDP, PairSTDP as PairSTDP
from ._rules_ti import TISTDP as TISTDP
from ._transforms import (
    add_decay as add_decay,
    add_leak as add_leak,
    add_prior as add_prior,
    clip_weights as clip_weights,
    hebbian as hebbian,
    keep_nonnegative as keep_nonnegative,
    mask_weights as mask_weights,
    normalize_weights as normalize_weights,
    scale_by_sign as scale_by_sign,
    scale_by_soft_bound as scale_by_soft_bound,
    stdp as stdp,
    weights_mask as weights_mask,
)


__all__ = [
    "MPSHebbian",
    "HebbianPatchedSynapse",
    "AbstractRule",
    "Hebbian",
    "TraceSTDP",
    "ExpSTDP",
    "EventSTDP",
    "MSTDPET",
    "scale_by_soft_bound",
    "scale_by_sign",
    "add_decay",
    "add_prior",
    "add_leak",
    "clip_weights",
    "keep_nonnegative",
    "mask_weights",
    "normalize_weights",
    "weights_mask",
    "hebbian",
    "stdp",
    "init",
    "apply_updates",
    "plastic",
    "plastic_mask",
    "per_module",
    "LearningOptions",
    "PlasticSynapse",
    "parse_prior",
    "HebbianSynapse",
    "HebbianConvSynapse",
    "HebbianDeconvSynapse",
    "TraceSTDPSynapse",
    "ExpSTDPSynapse",
    "EventSTDPSynapse",
    "MSTDPETSynapse",
    "TraceSTDPConvSynapse",
    "TraceSTDPDeconvSynapse",
    "hebbian_rule",
    "conv_hebbian_rule",
    "trace_stdp_rule",
    "conv_trace_stdp_rule",
    "exp_stdp_rule",
    "event_stdp_rule",
    "SOM",
    "Hopfield",
    "VectorQuantize",
    "ART2A",
    "CompetitiveOptions",
    "CompetitivePlasticSynapse",
    "SOMSynapse",
    "HopfieldSynapse",
    "VectorQuantizeSynapse",
    "ART2ASynapse",
    "BCM",
    "Oja",
    "GerstnerHebbian",
    "PairSTDP",
    "InhibitorySTDP",
    "TISTDP",
    "REINFORCE",
    "REINFORCEState",
    "BCMSynapse",
    "STDPSynapse",
    "GerstnerHebbianSynapse",
    "InhibitorySTDPSynapse",
    "OjaTensorSynapse",
    "REINFORCESynapse",
]
