"""Encoder modules and training losses of :class:`~sk_realign.RealignEmbedder`.

Encoders (:class:`FeatureEncoder` for per-frame features, :class:`FrameEncoder` for RGB
frames through a ResNet-50 trunk) map a frame and its temporal context to one embedding.
The losses are the R-FPGWOT alignment loss (:func:`alignment_loss`, :func:`rfpgwot_loss`),
the contrastive inverse difference moment (:func:`cidm_loss`) and the inter-sequence
InfoNCE loss guided by a transport plan (:func:`inter_contrastive_loss`).
"""

from ._encoders import FeatureEncoder, FrameEncoder, context_indices, reset_parameters
from ._losses import (
    alignment_loss,
    cidm_loss,
    inter_contrastive_loss,
    pairwise_cost,
    rfpgwot_loss,
)
from ._resnet import ResNet50Trunk, load_backbone_state_dict

__all__ = [
    "FeatureEncoder",
    "FrameEncoder",
    "ResNet50Trunk",
    "alignment_loss",
    "cidm_loss",
    "context_indices",
    "inter_contrastive_loss",
    "load_backbone_state_dict",
    "pairwise_cost",
    "reset_parameters",
    "rfpgwot_loss",
]
