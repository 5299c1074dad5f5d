"""The bundled Breakfast "coffee" videos: per-frame features and key-step labels."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

DESCR = """\
Breakfast "coffee": five real recordings of people making coffee
------------------------------------------------------------------

Five videos of the "coffee" activity of the Breakfast Actions dataset, as per-frame features
with one key-step label per frame.

- Features: the dataset's reduced dense-trajectory descriptor (Fisher vectors reduced by PCA
  to 64 dimensions), one row per frame at 15 frames per second, stored as float32. The first
  few rows of every video, and 52 rows of P03, are all zeros (no trajectories yet).
- Labels: Breakfast label ids, 0 being ``SIL`` (background). The key steps present are
  take_cup, pour_coffee, pour_milk and pour_sugar.
- Lengths 917, 1119, 472, 271 and 571 frames, 3,350 frames in all, 13.4% background. Orders
  differ between videos (pour_sugar before or after pour_milk), steps are missing (P08 has
  only pour_coffee), and background occurs at the start, the end and in between.

Source and licence: H. Kuehne, A. Arslan and T. Serre, "The Language of Actions: Recovering
the Syntax and Semantics of Goal-Directed Human Activities", CVPR 2014. The files are the
``dummy_data/`` folder of the public GitHub repository Annusha/unsup_temp_embed (MIT licence,
commit 2fd98b4d70d6); the labels agree frame for frame with the dataset's official
segmentation files. See the NOTICE file of the package.
"""


def load_breakfast_coffee():
    """Load the five bundled Breakfast "coffee" videos.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With the fields

        - ``X``: list of 5 float32 arrays of shape (T_i, 64), the per-frame features;
        - ``y``: list of 5 int64 arrays of shape (T_i,), the Breakfast label id of every
          frame (0 is ``SIL``, the background);
        - ``label_names``: dict mapping each label id to its name, for all 48 Breakfast
          labels;
        - ``video_names``: list of the 5 video names, such as ``"P03_cam01_P03_coffee"``;
        - ``fps``: the frame rate of the features, 15;
        - ``DESCR``: the description and attribution of the data.

    Notes
    -----
    The data come from the Breakfast Actions dataset (Kuehne, Arslan and Serre, CVPR 2014),
    as published in the ``dummy_data/`` folder of the repository Annusha/unsup_temp_embed
    under the MIT licence. ``DESCR`` gives the full attribution.

    Examples
    --------
    >>> from sk_realign.datasets import load_breakfast_coffee
    >>> data = load_breakfast_coffee()
    >>> [video.shape for video in data.X]
    [(917, 64), (1119, 64), (472, 64), (271, 64), (571, 64)]
    >>> data.label_names[0]
    'SIL'
    """
    with resources.files("sk_realign.datasets").joinpath("data/breakfast_coffee.npz").open("rb") as f:
        archive = np.load(f)
        features = archive["features"]
        labels = archive["labels"].astype(np.int64)
        lengths = archive["lengths"]
        video_names = [str(name) for name in archive["video_names"]]
        label_names = {
            int(i): str(name) for i, name in zip(archive["label_ids"], archive["label_names"])
        }

    bounds = np.concatenate([[0], np.cumsum(lengths)])
    X = [features[start:stop].copy() for start, stop in zip(bounds[:-1], bounds[1:])]
    y = [labels[start:stop].copy() for start, stop in zip(bounds[:-1], bounds[1:])]
    return Bunch(
        X=X, y=y, label_names=label_names, video_names=video_names, fps=15, DESCR=DESCR
    )
