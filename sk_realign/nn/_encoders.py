"""Frame encoders: per-frame features or RGB frames in, one embedding per frame out.

Both encoders look at a short temporal context of each frame: frame ``t`` is encoded
together with the frames ``t - stride, t - 2 stride, ...`` (clipped at the first frame), so
the input of :meth:`forward` has a context axis of length ``n_context``. Each encoder also
has a ``frame_features`` method that turns raw video frames into per-frame inputs: the
identity for features, the CNN trunk for RGB frames. A video is encoded by computing its
per-frame inputs once and stacking their contexts with :func:`context_indices`.
"""

import math
import warnings

import numpy as np
import torch
from torch import nn

from ..exceptions import RandomBackboneWarning
from ._resnet import ResNet50Trunk, load_backbone_state_dict

__all__ = [
    "FeatureEncoder",
    "FrameEncoder",
    "context_indices",
    "reset_parameters",
]

# ImageNet statistics of torchvision's ResNet-50 weights, RGB order.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def context_indices(indices, n_context, stride):
    """Return the frame indices of the temporal context of each given frame.

    Parameters
    ----------
    indices : torch.Tensor of dtype int64 and any shape
        Frame indices.
    n_context : int
        Number of frames in a context, the frame itself included.
    stride : int
        Distance in frames between consecutive context frames.

    Returns
    -------
    context : torch.Tensor of shape (*indices.shape, n_context)
        ``context[..., c] = max(indices - (n_context - 1 - c) * stride, 0)``: the last
        entry is the frame itself, the earlier ones precede it.

    Examples
    --------
    >>> import torch
    >>> context_indices(torch.tensor([0, 3, 5]), n_context=2, stride=2)
    tensor([[0, 0],
            [1, 3],
            [3, 5]])
    """
    offsets = torch.arange(n_context - 1, -1, -1, device=indices.device) * stride
    return (indices.unsqueeze(-1) - offsets).clamp_min(0)


class _Dropout(nn.Module):
    """Dropout whose mask comes from ``self.generator`` when one is set.

    ``torch.nn.Dropout`` draws from torch's global generator; this one lets an estimator
    make training reproducible from its own ``random_state`` without seeding torch
    globally. With ``generator=None`` it is ``torch.nn.functional.dropout``.
    """

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.generator = None

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.generator is None:
            return nn.functional.dropout(x, self.p, training=True)
        keep = torch.rand(x.shape, generator=self.generator, device=self.generator.device)
        keep = (keep >= self.p).to(device=x.device, dtype=x.dtype)
        return x * keep / (1.0 - self.p)


def reset_parameters(module, generator=None):
    """Initialise convolutions, linear layers and batch norms with a given generator.

    The distributions are torch's defaults (Kaiming uniform with ``a = sqrt(5)`` for the
    weights, uniform in ``+-1/sqrt(fan_in)`` for the biases, batch norms at 1 and 0), but
    drawn from ``generator``, so that an estimator's ``random_state`` fixes them. The CNN
    trunk of :class:`FrameEncoder` is left alone.

    Parameters
    ----------
    module : torch.nn.Module
    generator : torch.Generator, default=None
        ``None`` uses torch's global generator.

    Returns
    -------
    module : torch.nn.Module
        The same module, initialised in place.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.nn import FeatureEncoder, reset_parameters
    >>> first = FeatureEncoder(n_features=4, embedding_dim=2, hidden_dim=8)
    >>> second = FeatureEncoder(n_features=4, embedding_dim=2, hidden_dim=8)
    >>> _ = reset_parameters(first, torch.Generator().manual_seed(0))
    >>> _ = reset_parameters(second, torch.Generator().manual_seed(0))
    >>> all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters()))
    True
    """
    layers = (nn.Linear, nn.Conv1d, nn.Conv3d)
    norms = (nn.BatchNorm1d, nn.BatchNorm3d)
    for name, submodule in module.named_modules():
        if name.startswith("trunk"):
            continue
        if isinstance(submodule, layers):
            nn.init.kaiming_uniform_(submodule.weight, a=math.sqrt(5), generator=generator)
            if submodule.bias is not None:
                fan_in = submodule.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(submodule.bias, -bound, bound, generator=generator)
        elif isinstance(submodule, norms):
            submodule.reset_parameters()
    return module


def set_dropout_generator(module, generator):
    """Set (or, with ``None``, clear) the generator of every dropout layer of ``module``."""
    for submodule in module.modules():
        if isinstance(submodule, _Dropout):
            submodule.generator = generator


class _ProjectionHead(nn.Sequential):
    """Two fully connected layers with ReLU and dropout, then a linear projection."""

    def __init__(self, hidden_dim, embedding_dim, dropout):
        super().__init__(
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            _Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            _Dropout(dropout),
            nn.Linear(hidden_dim, embedding_dim),
        )


class FeatureEncoder(nn.Module):
    """Encoder of precomputed per-frame features.

    Each frame and its context frames (``n_context`` of them) pass through two temporal
    convolution blocks: a 1-D convolution over the context axis (kernel 3, padding 1,
    ``hidden_dim`` channels), batch norm and ReLU. A max-pool over the context follows,
    then two fully connected layers of ``hidden_dim`` units with ReLU and dropout, and a
    linear projection to ``embedding_dim``.

    Parameters
    ----------
    n_features : int
        Size ``d`` of the input features.
    embedding_dim : int, default=128
        Size of the output embedding.
    n_context : int, default=2
        Frames per context, the frame itself included.
    hidden_dim : int, default=256
        Channels of the convolutions and units of the fully connected layers.
    dropout : float, default=0.1
        Dropout probability after each fully connected layer.

    Attributes
    ----------
    conv : torch.nn.Sequential
        The two temporal convolution blocks: ``Conv1d``, ``BatchNorm1d`` and ``ReLU``,
        twice.
    head : torch.nn.Sequential
        The projection head: two ``Linear`` layers of ``hidden_dim`` units, each followed
        by ``ReLU`` and dropout, then a ``Linear`` layer to ``embedding_dim``.
    n_features : int
        Size of the input features.
    n_context : int
        Frames per context.
    embedding_dim : int
        Size of the output embedding.

    See Also
    --------
    FrameEncoder : The encoder of RGB frames.
    context_indices : The frame indices of each context.

    Examples
    --------
    The input holds, for a batch of 1 video of 8 frames, each frame's context of 2 frames
    of 16 features:

    >>> import torch
    >>> from sk_realign.nn import FeatureEncoder
    >>> encoder = FeatureEncoder(n_features=16, embedding_dim=8, hidden_dim=32).eval()
    >>> x = torch.randn(1, 8, 2, 16, generator=torch.Generator().manual_seed(0))
    >>> encoder(x).shape
    torch.Size([1, 8, 8])
    """

    def __init__(self, n_features, embedding_dim=128, n_context=2, hidden_dim=256, dropout=0.1):
        super().__init__()
        self.n_features = n_features
        self.n_context = n_context
        self.embedding_dim = embedding_dim
        self.conv = nn.Sequential(
            nn.Conv1d(n_features, hidden_dim, kernel_size=3, padding=1),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(),
            nn.Conv1d(hidden_dim, hidden_dim, kernel_size=3, padding=1),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(),
        )
        self.head = _ProjectionHead(hidden_dim, embedding_dim, dropout)

    def frame_features(self, video):
        """Return the per-frame input of the context: the features themselves, as float32.

        Parameters
        ----------
        video : array-like of shape (T, d)

        Returns
        -------
        features : torch.Tensor of shape (T, d)
        """
        return torch.as_tensor(np.asarray(video), dtype=torch.float32)

    def forward(self, x):
        """Embed frames with their contexts.

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_context, d)

        Returns
        -------
        embedding : torch.Tensor of shape (..., embedding_dim)
        """
        batch_shape = x.shape[:-2]
        x = x.reshape(-1, self.n_context, self.n_features).transpose(1, 2)
        x = self.conv(x).amax(dim=2)
        return self.head(x).reshape(*batch_shape, self.embedding_dim)


class FrameEncoder(nn.Module):
    """Encoder of RGB frames: a ResNet-50 trunk, then 3-D convolutions over the context.

    Every frame is resized to ``frame_size``, normalised with the ImageNet statistics and
    passed through a ResNet-50 trunk up to ``layer3`` (1024 channels at 1/16 of the frame
    size). The maps of a frame and its context frames pass through two 3-D convolution
    blocks over (context, height, width) (kernel 3, padding 1, batch norm, ReLU,
    ``hidden_dim`` channels), a max-pool over all three axes, and the same head as
    :class:`FeatureEncoder`.

    Parameters
    ----------
    embedding_dim : int, default=128
        Size of the output embedding.
    n_context : int, default=2
        Frames per context, the frame itself included.
    hidden_dim : int, default=256
        Channels of the 3-D convolutions and units of the fully connected layers.
    dropout : float, default=0.1
        Dropout probability after each fully connected layer.
    weights : str or os.PathLike, default=None
        Trunk weights: the path of a saved torchvision ``resnet50`` state dict (read with
        ``torch.load(..., weights_only=True)``) or a torchvision weights name such as
        ``"IMAGENET1K_V2"`` (needs torchvision). ``None`` leaves the trunk random and
        raises a :class:`~sk_realign.exceptions.RandomBackboneWarning`.
    freeze_backbone : bool, default=True
        Keep the trunk's weights and batch-norm statistics fixed (the trunk stays in eval
        mode and gets no gradient).
    frame_size : int or tuple of int, default=224
        Height and width the frames are resized to. Any size of at least 16 pixels works;
        the trunk maps are ``ceil(size / 16)`` wide.
    generator : torch.Generator, default=None
        Seeds the random trunk when ``weights`` is None.

    Attributes
    ----------
    trunk : ResNet50Trunk
        The ResNet-50 trunk up to ``layer3``; without gradient when ``freeze_backbone``.
    conv : torch.nn.Sequential
        The two 3-D convolution blocks: ``Conv3d``, ``BatchNorm3d`` and ``ReLU``, twice.
    head : torch.nn.Sequential
        The projection head, as in :class:`FeatureEncoder`.
    mean, std : torch.Tensor of shape (1, 3, 1, 1)
        The ImageNet channel statistics the frames are normalised with (buffers, not
        saved in the state dict).
    frame_size : tuple of int
        The ``(height, width)`` frames are resized to.
    n_context : int
        Frames per context.
    embedding_dim : int
        Size of the output embedding.
    freeze_backbone : bool
        Whether the trunk is frozen.

    See Also
    --------
    FeatureEncoder : The encoder of precomputed per-frame features.
    ResNet50Trunk : The CNN trunk.

    Examples
    --------
    A random trunk (``weights=None``) raises a ``RandomBackboneWarning``, silenced here:

    >>> import warnings
    >>> import numpy as np
    >>> from sk_realign.nn import FrameEncoder
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     encoder = FrameEncoder(
    ...         embedding_dim=8, hidden_dim=16, weights=None, frame_size=32
    ...     ).eval()
    >>> maps = encoder.frame_features(np.zeros((2, 32, 32, 3), dtype=np.uint8))
    >>> maps.shape
    torch.Size([2, 1024, 2, 2])
    >>> encoder(maps[None]).shape
    torch.Size([1, 8])
    """

    def __init__(
        self,
        embedding_dim=128,
        n_context=2,
        hidden_dim=256,
        dropout=0.1,
        weights=None,
        freeze_backbone=True,
        frame_size=224,
        generator=None,
    ):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.n_context = n_context
        self.freeze_backbone = freeze_backbone
        self.frame_size = (frame_size, frame_size) if np.isscalar(frame_size) else tuple(frame_size)
        if min(self.frame_size) < 16:
            raise ValueError(
                f"frame_size must be at least 16 pixels per side for the ResNet-50 trunk; "
                f"got {frame_size!r}."
            )

        self.trunk = ResNet50Trunk(generator=generator)
        if weights is None:
            warnings.warn(
                "FrameEncoder has no backbone weights, so its ResNet-50 trunk is random and "
                "the embeddings will carry little about the key steps. Pass the path of a "
                "torchvision resnet50 checkpoint or a torchvision weights name.",
                RandomBackboneWarning,
                stacklevel=2,
            )
        else:
            self.trunk.load_state_dict(load_backbone_state_dict(weights))
        if freeze_backbone:
            self.trunk.requires_grad_(False)

        channels = ResNet50Trunk.out_channels
        self.conv = nn.Sequential(
            nn.Conv3d(channels, hidden_dim, kernel_size=3, padding=1),
            nn.BatchNorm3d(hidden_dim),
            nn.ReLU(),
            nn.Conv3d(hidden_dim, hidden_dim, kernel_size=3, padding=1),
            nn.BatchNorm3d(hidden_dim),
            nn.ReLU(),
        )
        self.head = _ProjectionHead(hidden_dim, embedding_dim, dropout)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode=True):
        """Set training or evaluation mode, keeping a frozen trunk in evaluation mode.

        Parameters
        ----------
        mode : bool, default=True
            ``True`` for training mode (dropout and batch-norm updates on), ``False`` for
            evaluation mode. With ``freeze_backbone``, the trunk stays in evaluation mode
            either way, so its batch-norm statistics never change.

        Returns
        -------
        self : FrameEncoder
            The encoder itself.
        """
        super().train(mode)
        # A frozen trunk keeps its batch-norm statistics.
        if self.freeze_backbone:
            self.trunk.eval()
        return self

    def frame_features(self, video):
        """Resize, normalise and pass frames through the trunk.

        Parameters
        ----------
        video : array-like of shape (T, H, W, 3)
            RGB frames, uint8 in [0, 255] or float in [0, 1].

        Returns
        -------
        maps : torch.Tensor of shape (T, 1024, h, w)
            With ``h = ceil(frame_size[0] / 16)`` and ``w`` likewise. Computed without
            gradient when the trunk is frozen.
        """
        frames = torch.as_tensor(np.asarray(video))
        scale = 255.0 if frames.dtype == torch.uint8 else 1.0
        device = self.mean.device
        frames = frames.to(device=device, dtype=torch.float32).permute(0, 3, 1, 2) / scale
        if tuple(frames.shape[-2:]) != self.frame_size:
            frames = nn.functional.interpolate(
                frames, size=self.frame_size, mode="bilinear", align_corners=False, antialias=True
            )
        frames = (frames - self.mean) / self.std
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_backbone):
            return self.trunk(frames)

    def forward(self, x):
        """Embed frames with their contexts.

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_context, 1024, h, w)
            Trunk maps from :meth:`frame_features`, stacked over the context.

        Returns
        -------
        embedding : torch.Tensor of shape (..., embedding_dim)
        """
        batch_shape = x.shape[:-4]
        x = x.reshape(-1, *x.shape[-4:]).transpose(1, 2)
        x = self.conv(x).amax(dim=(2, 3, 4))
        return self.head(x).reshape(*batch_shape, self.embedding_dim)
