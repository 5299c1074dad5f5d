"""Warning classes of sk_realign."""

from sklearn.exceptions import ConvergenceWarning

__all__ = ["ConvergenceWarning", "EmbeddingCollapseWarning", "RandomBackboneWarning"]


class EmbeddingCollapseWarning(UserWarning):
    """Warning raised when the spread of the learned embeddings collapses during training.

    The alignment loss can keep falling while all frames move to one point, which erases
    the key steps. :class:`~sk_realign.RealignEmbedder` records the spread in ``history_``
    and raises this warning when it falls below a fraction of its starting value.
    """


class RandomBackboneWarning(UserWarning):
    """Warning raised when the frame encoder's CNN trunk has random weights.

    Embeddings of raw frames from an untrained trunk carry little about the key steps. Give
    a checkpoint path or a torchvision weights name to get useful embeddings.
    """
