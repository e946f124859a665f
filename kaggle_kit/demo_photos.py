"""``demo-photos``: which photograph does a random 96 x 96 crop come from? Real photos and textures bundled with
scikit-image (``skimage.data``, no download), written in the Kaggle image layout, plus a ResNet-18 checkpoint the
demo pretrains itself on another crop task (other photos), to show fine-tuning from a file.

Files (``make_demo("demo-photos", out)``; ``small=True`` writes fewer crops, for the tests)::

    train/<id>.png, test/<id>.png     96 x 96 RGB crops (grey photos as three equal channels)
    train.csv                         id, left, top, brightness, photo   (the crop's position in its photo, in
                                      pixels, and its mean brightness measured with noise: metadata for the hybrid)
    test.csv                          id, left, top, brightness
    sample_submission.csv, solution.csv
    pretrained/resnet18-crops.pt      a ResNet-18 state_dict (torchvision's key names) fitted by the kit on 32 x 32
                                      crops of eight other photos: the checkpoint demo-photos.toml fine-tunes

Each crop's contrast and brightness are jittered and noise is added, so colour and brightness alone do not name
the photo; the photos differ in size, so where a crop sits (``left``, ``top``) says a little about which it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .errors import ConfigError

#: the competition's classes, and the other photos the checkpoint is pretrained on
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel")
PRETRAIN_PHOTOS = ("coins", "moon", "cell", "page", "text", "clock", "immunohistochemistry", "hubble_deep_field")
CROP = 96
#: crops per photo: (train, test), full and small
SIZES = {False: (60, 20), True: (12, 4)}
PRETRAIN_SIZES = {False: 80, True: 16}
PRETRAIN_PIXELS = 32  #: the side the checkpoint is fitted at (demo-photos.toml reads the crops at this size)
CHECKPOINT = Path("pretrained") / "resnet18-crops.pt"


def _photo(name: str) -> np.ndarray:
    try:
        from skimage import data
    except ImportError:
        raise ConfigError("demo-photos crops scikit-image's bundled photos: pip install scikit-image") from None
    image = np.asarray(getattr(data, name)())
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3].astype(np.float32)


def _crops(
    image: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` jittered crops (uint8 ``(n, CROP, CROP, 3)``), their left / top pixel and their noisy brightness."""
    h, w = image.shape[:2]
    left = rng.integers(0, w - CROP + 1, n)
    top = rng.integers(0, h - CROP + 1, n)
    out = np.empty((n, CROP, CROP, 3), dtype=np.uint8)
    for i in range(n):
        crop = image[top[i] : top[i] + CROP, left[i] : left[i] + CROP]
        mean = crop.mean()
        crop = (crop - mean) * rng.uniform(0.7, 1.3) + mean * rng.uniform(0.75, 1.25)  # contrast, brightness
        crop = crop + rng.normal(0, 8, crop.shape)
        out[i] = np.clip(crop, 0, 255).round().astype(np.uint8)
    brightness = out.reshape(n, -1).mean(axis=1) + rng.normal(0, 10, n)
    return out, left, top, brightness.round(1)


def _dataset(names: tuple[str, ...], per_photo: int, rng: np.random.Generator) -> tuple[np.ndarray, pl.DataFrame]:
    images, rows = [], []
    for name in names:
        crops, left, top, brightness = _crops(_photo(name), per_photo, rng)
        images.append(crops)
        rows.append(pl.DataFrame({"left": left, "top": top, "brightness": brightness, "photo": [name] * per_photo}))
    order = rng.permutation(per_photo * len(names))
    return np.concatenate(images)[order], pl.concat(rows)[order.tolist()]


def _write_images(folder: Path, ids: list[int], images: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in zip(ids, images, strict=True):
        Image.fromarray(image).save(folder / f"{i}.png")


def write_photos(folder: Path, *, small: bool = False, seed: int = 0) -> Path:
    """Write the demo's images, tables and checkpoint into ``folder``; returns it."""
    rng = np.random.default_rng(seed)
    n_train, n_test = SIZES[small]
    images, table = _dataset(PHOTOS, n_train + n_test, rng)
    table = table.with_columns(pl.Series("id", np.arange(1000, 1000 + table.height), dtype=pl.Int64)).select(
        "id", "left", "top", "brightness", "photo"
    )
    is_test = np.zeros(table.height, dtype=bool)
    for name in PHOTOS:  # n_test crops of each photo held out
        rows = np.flatnonzero((table["photo"] == name).to_numpy())
        is_test[rows[:n_test]] = True
    train, test = table.filter(~is_test), table.filter(is_test)
    _write_images(folder / "train", train["id"].to_list(), images[~is_test])
    _write_images(folder / "test", test["id"].to_list(), images[is_test])
    train.write_csv(folder / "train.csv")
    test.drop("photo").write_csv(folder / "test.csv")
    test.select("id", "photo").write_csv(folder / "solution.csv")
    test.select("id", pl.lit(PHOTOS[0]).alias("photo")).write_csv(folder / "sample_submission.csv")
    pretrain_checkpoint(folder / CHECKPOINT, small=small, seed=seed)
    return folder


def pretrain_checkpoint(path: Path, *, small: bool = False, seed: int = 0) -> Path:
    """Fit a ResNet-18 (the kit's ``cnn`` with ``backbone = "resnet18"``) to name which of
    :data:`PRETRAIN_PHOTOS` a 32 x 32 crop comes from, and save its ``state_dict`` at ``path`` (``torch.save`` of
    tensors: what ``params.pretrained`` loads with ``weights_only=True``)."""
    import torch
    from PIL import Image

    from .features import FeatureMatrix
    from .models.nn.families import FAMILIES
    from .models.nn.images import pixel_names
    from .models.nn.net import fit_net

    rng = np.random.default_rng(seed + 1)
    images, table = _dataset(PRETRAIN_PHOTOS, PRETRAIN_SIZES[small], rng)
    side = PRETRAIN_PIXELS
    small_images = np.stack(
        [np.asarray(Image.fromarray(im).resize((side, side), Image.Resampling.BILINEAR)) for im in images]
    )
    X = FeatureMatrix(small_images.reshape(len(images), -1).astype(np.float32), tuple(pixel_names(side * side * 3)), ())
    y = np.searchsorted(np.array(sorted(PRETRAIN_PHOTOS)), table["photo"].to_numpy()).astype(np.int64)
    given = {"backbone": "resnet18", "image_shape": [side, side, 3], "small_input": False, "epochs": 2 if small else 8}
    given |= {"lr": 3e-3, "batch_size": 64, "patience": 0, "augment_hflip": True}
    params = FAMILIES["cnn"].validate("pretrain", given)
    fitted, _ = fit_net(
        "pretrain", "cnn", params, X, y, None, None, task="multiclass", n_classes=len(PRETRAIN_PHOTOS),
        scorer=None, seed=seed, threads=1,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in fitted.module.state_dict().items()}, path)
    return path
