"""Warning classes of sk_realign."""

from sklearn.exceptions import ConvergenceWarning

__all__ = ["ConvergenceWarning", "EmbeddingCollapseWarning", "RandomBackboneWarning"]


class EmbeddingCollapseWarning(UserWarning):
    """Warning raised when the spread of the learned embeddings collapses during training.

    The alignment loss can keep falling while all frames move to one point, which erases
    the key steps. :class:`~sk_realign.RealignEmbedder` records the spread in ``history_``
    and raises this warning when it falls below a fraction of its starting value.

    Examples
    --------
    >>> import warnings
    >>> from sk_realign.exceptions import EmbeddingCollapseWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", EmbeddingCollapseWarning)
    ...     warnings.warn("the embedding spread fell to 1% of its start",
    ...                   EmbeddingCollapseWarning)
    >>> caught[0].category.__name__
    'EmbeddingCollapseWarning'

    Silence it where a collapse is expected, such as a run of a few epochs:

    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", EmbeddingCollapseWarning)
    ...     warnings.warn("not shown", EmbeddingCollapseWarning)
    """


class RandomBackboneWarning(UserWarning):
    """Warning raised when the frame encoder's CNN trunk has random weights.

    Embeddings of raw frames from an untrained trunk carry little about the key steps. Give
    a checkpoint path or a torchvision weights name to get useful embeddings.

    Examples
    --------
    Turn the warning into an error, to be sure no run uses a random trunk:

    >>> import warnings
    >>> from sk_realign.exceptions import RandomBackboneWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", RandomBackboneWarning)
    ...     try:
    ...         warnings.warn("the CNN trunk has random weights", RandomBackboneWarning)
    ...     except RandomBackboneWarning as error:
    ...         print(f"caught: {error}")
    caught: the CNN trunk has random weights
    """
