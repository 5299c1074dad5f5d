"""Encoders of sk_realign.nn: shapes, context stacking, seeding and backbone loading."""

import pickle
import warnings

import numpy as np
import pytest
import torch

from sk_realign.exceptions import RandomBackboneWarning
from sk_realign.nn import (
    FeatureEncoder,
    FrameEncoder,
    ResNet50Trunk,
    context_indices,
    load_backbone_state_dict,
    reset_parameters,
)
from sk_realign.nn._encoders import set_dropout_generator


def _frame_encoder(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomBackboneWarning)
        return FrameEncoder(**kwargs)


def test_context_indices_clip_at_first_frame():
    context = context_indices(torch.tensor([0, 1, 4, 9]), n_context=3, stride=2)
    expected = torch.tensor([[0, 0, 0], [0, 0, 1], [0, 2, 4], [5, 7, 9]])
    assert torch.equal(context, expected)


def test_context_indices_keep_batch_shape():
    indices = torch.arange(6).reshape(2, 3)
    assert context_indices(indices, n_context=2, stride=1).shape == (2, 3, 2)


def test_feature_encoder_shapes():
    encoder = FeatureEncoder(n_features=7, embedding_dim=5).eval()
    x = torch.randn(3, 4, 2, 7)
    assert encoder(x).shape == (3, 4, 5)
    assert encoder(x[0, 0]).shape == (5,)


def test_feature_encoder_frames_are_independent_in_eval():
    encoder = FeatureEncoder(n_features=4).eval()
    x = torch.randn(6, 2, 4)
    with torch.no_grad():
        together = encoder(x)
        apart = torch.stack([encoder(frame[None])[0] for frame in x])
    torch.testing.assert_close(together, apart)


def test_reset_parameters_follows_generator():
    first = reset_parameters(FeatureEncoder(n_features=4), torch.Generator().manual_seed(3))
    second = reset_parameters(FeatureEncoder(n_features=4), torch.Generator().manual_seed(3))
    third = reset_parameters(FeatureEncoder(n_features=4), torch.Generator().manual_seed(4))

    for (name, a), (_, b), (_, c) in zip(
        first.named_parameters(), second.named_parameters(), third.named_parameters()
    ):
        assert torch.equal(a, b), name
    assert not torch.equal(first.head[0].weight, third.head[0].weight)


def test_dropout_follows_generator():
    encoder = FeatureEncoder(n_features=4, dropout=0.5).train()
    x = torch.randn(8, 2, 4)
    outputs = []
    for _ in range(2):
        set_dropout_generator(encoder, torch.Generator().manual_seed(5))
        outputs.append(encoder(x))
    set_dropout_generator(encoder, None)

    torch.testing.assert_close(outputs[0], outputs[1])
    encoder.eval()
    assert not torch.allclose(encoder(x), outputs[0])


def test_resnet_trunk_names_match_torchvision():
    state = ResNet50Trunk().state_dict()

    # torchvision's resnet50 has 258 state-dict entries before layer4: the stem (6),
    # layer1 (3 blocks), layer2 (4) and layer3 (6), each block 18 entries plus 6 for
    # the projection shortcut of its stage's first block.
    assert len(state) == 258
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert state["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["layer2.0.conv2.weight"].shape == (128, 128, 3, 3)
    assert state["layer3.5.bn3.running_var"].shape == (1024,)
    assert "layer3.0.downsample.1.num_batches_tracked" in state


def test_resnet_trunk_downsamples_by_sixteen():
    trunk = ResNet50Trunk(generator=torch.Generator().manual_seed(0)).eval()
    with torch.no_grad():
        maps = trunk(torch.zeros(1, 3, 48, 80))
    assert maps.shape == (1, 1024, 3, 5)


def _full_checkpoint(tmp_path, wrap=None, prefix=""):
    trunk = ResNet50Trunk(generator=torch.Generator().manual_seed(6))
    state = {prefix + name: value for name, value in trunk.state_dict().items()}
    state[prefix + "fc.weight"] = torch.zeros(1000, 2048)
    state[prefix + "layer4.0.conv1.weight"] = torch.zeros(512, 1024, 1, 1)
    path = tmp_path / "resnet50.pth"
    torch.save({wrap: state} if wrap else state, path)
    return trunk, path


@pytest.mark.parametrize("wrap, prefix", [(None, ""), ("state_dict", "module."), ("model", "")])
def test_frame_encoder_loads_checkpoint(tmp_path, wrap, prefix):
    trunk, path = _full_checkpoint(tmp_path, wrap, prefix)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomBackboneWarning)
        encoder = FrameEncoder(weights=path, frame_size=32)

    for name, value in trunk.state_dict().items():
        assert torch.equal(encoder.trunk.state_dict()[name], value), name


class _NotATensor:
    pass


def test_checkpoint_with_objects_is_rejected(tmp_path):
    path = tmp_path / "unsafe.pth"
    torch.save({"conv1.weight": torch.zeros(1), "extra": _NotATensor()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_backbone_state_dict(path)


def test_checkpoint_path_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_backbone_state_dict(tmp_path / "missing.pth")


def test_weights_name_without_torchvision():
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match="torchvision could not be imported"):
            load_backbone_state_dict("IMAGENET1K_V2")
    else:
        with pytest.raises(ValueError, match="Unknown torchvision weights"):
            load_backbone_state_dict("NOT_A_WEIGHT")


def test_frame_encoder_random_trunk_warns():
    with pytest.warns(RandomBackboneWarning, match="random"):
        FrameEncoder(frame_size=32)


def test_frame_encoder_rejects_tiny_frames():
    with pytest.raises(ValueError, match="frame_size must be at least 16"):
        _frame_encoder(frame_size=8)


@pytest.mark.parametrize("frame_size, map_size", [(32, (2, 2)), ((40, 24), (3, 2))])
def test_frame_encoder_shapes(frame_size, map_size):
    encoder = _frame_encoder(embedding_dim=6, frame_size=frame_size).eval()
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 30, 50, 3), dtype=np.uint8)
    with torch.no_grad():
        maps = encoder.frame_features(frames)
        embedding = encoder(maps[torch.tensor([[0, 1], [1, 2]])])
    assert maps.shape == (3, 1024, *map_size)
    assert embedding.shape == (2, 6)
    assert torch.isfinite(embedding).all()


def test_frame_encoder_frozen_trunk_gets_no_gradient():
    encoder = _frame_encoder(frame_size=32).train()
    assert not encoder.trunk.training
    frames = torch.rand(2, 32, 32, 3)

    maps = encoder.frame_features(frames)
    encoder(maps[None]).sum().backward()
    assert all(p.grad is None for p in encoder.trunk.parameters())
    assert encoder.conv[0].weight.grad is not None


def test_frame_encoder_unfrozen_trunk_trains():
    encoder = _frame_encoder(frame_size=32, freeze_backbone=False).train()
    assert encoder.trunk.training
    maps = encoder.frame_features(torch.rand(2, 32, 32, 3))
    encoder(maps[None]).sum().backward()
    assert encoder.trunk.conv1.weight.grad is not None
