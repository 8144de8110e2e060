"""Evaluators of frozen embeddings; every result names its protocol."""

from gcl.eval._clustering import (
    KMEANS_BACKENDS,
    cluster_accuracy,
    cluster_metrics,
    clustering,
    kmeans,
    match_clusters,
)
from gcl.eval._health import embedding_health
from gcl.eval._labels_per_class import (
    heco_protocol,
    labels_per_class,
    load_heco_splits,
    ovr_auc,
)
from gcl.eval._linear_probe import LinearProbe, ProbeResult, train_linear_probe
from gcl.eval._link_prediction import (
    SCORERS,
    link_prediction,
    ogb_link_prediction,
    score_links,
    split_edges,
)
from gcl.eval._metrics import batched_classification_metrics, classification_metrics
from gcl.eval._node_classification import (
    grace_protocol,
    linear_probe_protocol,
    public_protocol,
)
from gcl.eval._over_epochs import REPORTING_RULES, report_over_epochs
from gcl.eval._pot import pot_fixed_protocol, pot_protocol
from gcl.eval._protocols import PROTOCOLS, node_classification
from gcl.eval._ranking import ranking, ranking_split
from gcl.eval._result import EvalResult
from gcl.eval._splits import get_masks, masks_to_splits, random_split

__all__ = [
    "REPORTING_RULES",
    "embedding_health",
    "report_over_epochs",
    "EvalResult",
    "clustering",
    "cluster_accuracy",
    "cluster_metrics",
    "kmeans",
    "KMEANS_BACKENDS",
    "match_clusters",
    "ranking",
    "ranking_split",
    "labels_per_class",
    "heco_protocol",
    "load_heco_splits",
    "ovr_auc",
    "link_prediction",
    "ogb_link_prediction",
    "score_links",
    "split_edges",
    "SCORERS",
    "node_classification",
    "PROTOCOLS",
    "grace_protocol",
    "linear_probe_protocol",
    "public_protocol",
    "pot_protocol",
    "pot_fixed_protocol",
    "LinearProbe",
    "ProbeResult",
    "train_linear_probe",
    "random_split",
    "masks_to_splits",
    "get_masks",
    "classification_metrics",
    "batched_classification_metrics",
]
