"""Flagship models and ngc-museum's exhibits, built only from ngcx's public cells, synapses
and learning rules."""

from ._bfa_snn import BFASNN as BFASNN, BFAResponse as BFAResponse, BFAState as BFAState
from ._conv_pc import ConvPC as ConvPC, ConvPCMetrics as ConvPCMetrics, upsample as upsample
from ._ei_rnn import EIRNN as EIRNN, EIRNNMetrics as EIRNNMetrics
from ._evstdp_patches import (
    EventSTDPPatches as EventSTDPPatches,
    EVState as EVState,
    filter_match as filter_match,
)
from ._generative_pcn import (
    GenerativePCN as GenerativePCN,
    GenerativePCNMetrics as GenerativePCNMetrics,
)
from ._harmonium import Harmonium as Harmonium, HarmoniumMetrics as HarmoniumMetrics
from ._hidden_pcn import (
    HiddenPCN as HiddenPCN,
    HiddenPCNMetrics as HiddenPCNMetrics,
    popup_mask as popup_mask,
)
from ._layers import LIFLayer as LIFLayer, PCLayer as PCLayer
from ._pcn import PCN as PCN, PCNMetrics as PCNMetrics
from ._rl_snn import (
    Episodes as Episodes,
    RewardSTDPNetwork as RewardSTDPNetwork,
    RSTDPState as RSTDPState,
    RSTDPWindow as RSTDPWindow,
    TMaze as TMaze,
    TMazeState as TMazeState,
    run_episodes as run_episodes,
    sparse_sign_weights as sparse_sign_weights,
)
from ._sindy import (
    SINDY_SYSTEMS as SINDY_SYSTEMS,
    DynamicalSystem as DynamicalSystem,
    SINDy as SINDy,
    central_difference as central_difference,
)
from ._snn import DCState as DCState, DiehlCook as DiehlCook, SurrogateSNN as SurrogateSNN
from ._som import SelfOrganizingMap as SelfOrganizingMap, SOMState as SOMState
from ._sparse_coding import (
    SparseCoding as SparseCoding,
    SparseCodingMetrics as SparseCodingMetrics,
    hoyer_sparsity as hoyer_sparsity,
    localisation as localisation,
    orientation_selectivity as orientation_selectivity,
)
from ._ti_stdp import (
    TIState as TIState,
    TISTDPNetwork as TISTDPNetwork,
    classify_by_winner as classify_by_winner,
)


__all__ = [
    "BFAResponse",
    "BFASNN",
    "BFAState",
    "GenerativePCN",
    "GenerativePCNMetrics",
    "Harmonium",
    "HarmoniumMetrics",
    "Episodes",
    "RewardSTDPNetwork",
    "RSTDPState",
    "RSTDPWindow",
    "TMaze",
    "TMazeState",
    "run_episodes",
    "sparse_sign_weights",
    "EIRNN",
    "EIRNNMetrics",
    "EventSTDPPatches",
    "EVState",
    "filter_match",
    "HiddenPCN",
    "HiddenPCNMetrics",
    "popup_mask",
    "SINDY_SYSTEMS",
    "DynamicalSystem",
    "SINDy",
    "central_difference",
    "SelfOrganizingMap",
    "SOMState",
    "SparseCoding",
    "SparseCodingMetrics",
    "hoyer_sparsity",
    "localisation",
    "orientation_selectivity",
    "TISTDPNetwork",
    "TIState",
    "classify_by_winner",
    "ConvPC",
    "ConvPCMetrics",
    "DCState",
    "DiehlCook",
    "LIFLayer",
    "PCN",
    "PCLayer",
    "PCNMetrics",
    "SurrogateSNN",
    "upsample",
]
