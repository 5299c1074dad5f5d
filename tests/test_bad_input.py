"""Mistakes users make with the package: each gets a clear error, never a wrong result."""

import numpy as np
import pytest

from sk_realign import KeyStepSegmenter


@pytest.mark.parametrize("prototypes", ["kmeans", "fuzzy-cmeans"])
def test_segmenter_huge_feature_rejected_in_fit(prototypes, rng):
    video = rng.normal(size=(10, 4))
    video[3, 1] = 1e300
    segmenter = KeyStepSegmenter(2, prototypes=prototypes, n_init=1, random_state=0)
    with pytest.raises(ValueError, match=r"Video 0 has a feature of absolute value 1e\+300"):
        segmenter.fit([video])


@pytest.mark.parametrize("prototypes", ["kmeans", "fuzzy-cmeans"])
def test_segmenter_huge_feature_rejected_in_predict(prototypes, rng):
    segmenter = KeyStepSegmenter(2, prototypes=prototypes, n_init=1, random_state=0)
    segmenter.fit([rng.normal(size=(10, 4))])
    far = rng.normal(size=(10, 4)) * 1e200
    with pytest.raises(ValueError, match="Video 1 has a feature .*StandardScaler"):
        segmenter.predict([rng.normal(size=(10, 4)), far])
