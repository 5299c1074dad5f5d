"""Key-step discovery in procedure videos with partial fused Gromov-Wasserstein transport.

sk_realign learns, without labels, per-frame embeddings in which the same key step of a
procedure looks alike across recordings (:class:`RealignEmbedder`). It aligns recordings
with a transport plan that may leave background frames unmatched
(:class:`PartialFGWAligner`), and it segments every recording into k key steps
(:class:`KeyStepSegmenter`). The three
estimators follow the scikit-learn API and compose in :class:`~sklearn.pipeline.Pipeline`
and :class:`~sklearn.model_selection.GridSearchCV`.

The estimators are imported lazily, so ``import sk_realign`` stays cheap until one of them
(and with it torch) is first used.
"""

import importlib

__version__ = "0.1.0.dev0"

# Public name -> module that defines it.
_LAZY_ATTRIBUTES = {
    "PartialFGWAligner": "sk_realign.aligner",
    "Alignment": "sk_realign.aligner",
    "KeyStepSegmenter": "sk_realign.segmenter",
    "RealignEmbedder": "sk_realign.embedder",
}
_SUBMODULES = (
    "cli",
    "datasets",
    "exceptions",
    "io",
    "labels",
    "metrics",
    "nn",
    "ot",
    "plotting",
)

__all__ = sorted(_LAZY_ATTRIBUTES) + list(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _LAZY_ATTRIBUTES:
        value = getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"sk_realign.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'sk_realign' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
