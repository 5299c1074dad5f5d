"""The ResNet-50 trunk up to ``layer3``, with torchvision's parameter names.

torchvision is an optional dependency (its PyPI wheels import only next to the torch
release they were built for), so the trunk is defined here. Its parameter and buffer
names are those of ``torchvision.models.resnet50().state_dict()``, so a torchvision
checkpoint loads into it with ``torch.load(path, weights_only=True)``. The ``layer4.*``
and ``fc.*`` entries of a full checkpoint are ignored.
"""

import math
from pathlib import Path

import torch
from torch import nn

__all__ = ["ResNet50Trunk", "load_backbone_state_dict"]

# Blocks per stage of ResNet-50 (He et al., 2016) up to layer3.
_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2))
_EXPANSION = 4
_IGNORED_PREFIXES = ("layer4.", "fc.")


class _Bottleneck(nn.Module):
    """Bottleneck block with the stride on the 3 x 3 convolution (ResNet v1.5)."""

    def __init__(self, in_channels, planes, stride=1):
        super().__init__()
        out_channels = planes * _EXPANSION
        self.conv1 = nn.Conv2d(in_channels, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50Trunk(nn.Module):
    """ResNet-50 from the stem to ``layer3``: 1024 channels at 1/16 of the input size.

    Parameters
    ----------
    generator : torch.Generator, default=None
        Seeds the random initialisation (Kaiming normal for convolutions, as torchvision
        does); ``None`` uses torch's global generator.

    Attributes
    ----------
    conv1 : torch.nn.Conv2d
        The 7 x 7 stem convolution, stride 2, 64 channels.
    bn1 : torch.nn.BatchNorm2d
        The batch norm of the stem.
    relu : torch.nn.ReLU
        The activation of the stem.
    maxpool : torch.nn.MaxPool2d
        The 3 x 3 max-pool of the stem, stride 2.
    layer1, layer2, layer3 : torch.nn.Sequential
        The bottleneck stages: 3, 4 and 6 blocks with 256, 512 and 1024 output channels,
        at 1/4, 1/8 and 1/16 of the input size.
    out_channels : int
        Channels of the output, 1024 (a class attribute).

    See Also
    --------
    load_backbone_state_dict : Read torchvision ResNet-50 weights for the trunk.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.nn import ResNet50Trunk
    >>> trunk = ResNet50Trunk(generator=torch.Generator().manual_seed(0)).eval()
    >>> trunk(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 1024, 2, 2])
    """

    out_channels = 1024

    def __init__(self, generator=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_channels = 64
        for index, (planes, n_blocks, stride) in enumerate(_STAGES, start=1):
            blocks = []
            for block in range(n_blocks):
                blocks.append(_Bottleneck(in_channels, planes, stride if block == 0 else 1))
                in_channels = planes * _EXPANSION
            setattr(self, f"layer{index}", nn.Sequential(*blocks))
        self._initialise(generator)

    def _initialise(self, generator):
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                with torch.no_grad():
                    module.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        """Compute the ``layer3`` feature maps of a batch of images.

        Parameters
        ----------
        x : torch.Tensor of shape (B, 3, H, W)
            Normalised RGB images.

        Returns
        -------
        maps : torch.Tensor of shape (B, 1024, ceil(H / 16), ceil(W / 16))
            The ``layer3`` feature maps.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))


def _torchvision_state_dict(name):
    """Fetch the state dict of a torchvision ResNet-50 weights enum member by name."""
    try:
        from torchvision.models import ResNet50_Weights
    except Exception as error:  # an ImportError, or a RuntimeError from a mismatched wheel
        raise ImportError(
            f"backbone weights {name!r} name a torchvision weights enum, but torchvision "
            f"could not be imported ({type(error).__name__}: {error}). Install the "
            "torchvision release built for your torch, or download the checkpoint once and "
            "pass its file path instead."
        ) from error
    member = name.split(".")[-1]
    if member == "DEFAULT":
        weights = ResNet50_Weights.DEFAULT
    elif member in ResNet50_Weights.__members__:
        weights = ResNet50_Weights[member]
    else:
        raise ValueError(
            f"Unknown torchvision weights {name!r}; expected one of "
            f"{sorted(ResNet50_Weights.__members__)} or 'DEFAULT'."
        )
    return weights.get_state_dict(progress=False)


def load_backbone_state_dict(weights):
    """Read ResNet-50 trunk weights from a checkpoint path or a torchvision weights name.

    Parameters
    ----------
    weights : str or os.PathLike
        A path to a file written by ``torch.save(model.state_dict(), path)`` for a
        torchvision ``resnet50`` (a dict nested under ``"state_dict"`` or ``"model"`` and
        keys prefixed with ``"module."`` are accepted too), or the name of a member of
        ``torchvision.models.ResNet50_Weights`` such as ``"IMAGENET1K_V2"``. The file is
        read with ``torch.load(..., weights_only=True)``, so it may contain tensors only.

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The entries of the trunk (``layer4.*`` and ``fc.*`` removed).

    Raises
    ------
    FileNotFoundError
        For a path-like value that names no file.
    ImportError
        For a weights name when torchvision cannot be imported.

    Examples
    --------
    A checkpoint of a full network, saved with ``"module."`` prefixes, loads into the
    trunk once its ``fc.*`` entries are dropped:

    >>> import os, tempfile
    >>> import torch
    >>> from sk_realign.nn import ResNet50Trunk, load_backbone_state_dict
    >>> trunk = ResNet50Trunk()
    >>> state = {f"module.{key}": value for key, value in trunk.state_dict().items()}
    >>> state["module.fc.weight"] = torch.zeros(1000, 2048)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "resnet50.pth")
    ...     torch.save({"state_dict": state}, path)
    ...     loaded = load_backbone_state_dict(path)
    >>> "fc.weight" in loaded, "conv1.weight" in loaded
    (False, True)
    >>> trunk.load_state_dict(loaded)
    <All keys matched successfully>
    """
    path = Path(weights)
    looks_like_path = path.suffix != "" or path.parent != Path(".") or path.exists()
    if not looks_like_path:
        state = _torchvision_state_dict(str(weights))
    else:
        if not path.is_file():
            raise FileNotFoundError(
                f"Backbone checkpoint {str(path)!r} not found. Pass the path of a saved "
                "torchvision resnet50 state dict, or a torchvision weights name."
            )
        state = torch.load(path, map_location="cpu", weights_only=True)

    for key in ("state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(
            f"Backbone checkpoint {str(weights)!r} contains a {type(state).__name__}; expected "
            "a state dict (a dict of parameter names to tensors)."
        )
    trunk_state = {}
    for key, value in state.items():
        key = key[len("module."):] if key.startswith("module.") else key
        if not key.startswith(_IGNORED_PREFIXES):
            trunk_state[key] = value
    return trunk_state
