"""Cells: graded rate cells, error cells, spiking neurons, input encoders and traces."""

from ._base import (
    AbstractCell as AbstractCell,
    AbstractEncoder as AbstractEncoder,
    AbstractErrorCell as AbstractErrorCell,
    AbstractSpikingCell as AbstractSpikingCell,
    AbstractTrace as AbstractTrace,
)
from ._dynamical import (
    AbstractRecoveryCell as AbstractRecoveryCell,
    AdExCell as AdExCell,
    FitzhughNagumoCell as FitzhughNagumoCell,
    HHState as HHState,
    HodgkinHuxleyCell as HodgkinHuxleyCell,
    IzhikevichCell as IzhikevichCell,
    RAFCell as RAFCell,
    RecoveryState as RecoveryState,
    hh_rates as hh_rates,
)
from ._encoders import (
    BernoulliCell as BernoulliCell,
    EncoderState as EncoderState,
    LatencyCell as LatencyCell,
    LatencyState as LatencyState,
    PoissonCell as PoissonCell,
    TTFSCell as TTFSCell,
    TTFSState as TTFSState,
)
from ._error import (
    BernoulliErrorCell as BernoulliErrorCell,
    ErrorOutput as ErrorOutput,
    GaussianErrorCell as GaussianErrorCell,
    LaplacianErrorCell as LaplacianErrorCell,
)
from ._ganglion import (
    AbstractStatelessEncoder as AbstractStatelessEncoder,
    RetinalGanglionCell as RetinalGanglionCell,
)
from ._leaky_noise import LeakyNoiseCell as LeakyNoiseCell, LeakyNoiseState as LeakyNoiseState
from ._lif import (
    IFCell as IFCell,
    LIFCell as LIFCell,
    QuadLIFCell as QuadLIFCell,
    SLIFCell as SLIFCell,
    SLIFState as SLIFState,
    SpikeState as SpikeState,
    WTASCell as WTASCell,
)
from ._phasor import PhasorCell as PhasorCell, PhasorState as PhasorState
from ._rate import RateCell as RateCell, RateState as RateState
from ._reward_error import (
    RewardErrorCell as RewardErrorCell,
    RewardErrorState as RewardErrorState,
)
from ._srm import (
    LIFSRM as LIFSRM,
    RAFSRM as RAFSRM,
    LIFSRMState as LIFSRMState,
    RAFSRMState as RAFSRMState,
)
from ._traces import (
    ExpKernel as ExpKernel,
    ExpKernelState as ExpKernelState,
    VarTrace as VarTrace,
)


__all__ = [
    "AbstractCell",
    "AbstractEncoder",
    "AbstractErrorCell",
    "AbstractRecoveryCell",
    "AbstractSpikingCell",
    "AbstractTrace",
    "AdExCell",
    "BernoulliCell",
    "BernoulliErrorCell",
    "EncoderState",
    "ErrorOutput",
    "ExpKernel",
    "ExpKernelState",
    "FitzhughNagumoCell",
    "GaussianErrorCell",
    "HHState",
    "HodgkinHuxleyCell",
    "IFCell",
    "IzhikevichCell",
    "LIFCell",
    "LIFSRM",
    "LIFSRMState",
    "LaplacianErrorCell",
    "LatencyCell",
    "LatencyState",
    "PoissonCell",
    "QuadLIFCell",
    "RAFCell",
    "RAFSRM",
    "RAFSRMState",
    "RateCell",
    "RateState",
    "RecoveryState",
    "SLIFCell",
    "SLIFState",
    "SpikeState",
    "TTFSCell",
    "TTFSState",
    "VarTrace",
    "WTASCell",
    "hh_rates",
    "AbstractStatelessEncoder",
    "RetinalGanglionCell",
    "LeakyNoiseCell",
    "LeakyNoiseState",
    "PhasorCell",
    "PhasorState",
    "RewardErrorCell",
    "RewardErrorState",
]
