"""Image files listed by id -> the pixel columns the ``cnn`` kind reads (``pixel_order = "hwc"``).

For competitions that ship images as files (``train/<id>.png``) rather than pixel columns: decode them with Pillow
(in threads; decoding releases the GIL), convert to grey / RGB / RGBA, optionally resize, and lay each image out as
one row of ``H * W * C`` float32 columns named ``pixel0, pixel1, ...`` in row-major order with a pixel's channels
together. Join the frame onto the competition table by id and give the ``cnn`` model
``image_shape = [H, W, C]``. Suited to small images (up to about 128 x 128): every pixel becomes a column.

Example::

    pixels = image_columns(train["id"], "train_images", pattern="{id}.png", size=(32, 32), channels=3)
    train = train.join(pixels, on="id")
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...errors import DataError

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def load_images(
    paths: Sequence[str | Path], *, size: tuple[int, int] | None = None, channels: int = 3, threads: int = 4
) -> np.ndarray:
    """``(N, H, W, C)`` float32 pixel values (0-255) of the image files; ``size = (height, width)`` resizes
    (bilinear), otherwise every image must have the size of the first."""
    from PIL import Image

    if channels not in _MODES:
        raise DataError(f"channels must be 1 (grey), 3 (RGB) or 4 (RGBA); got {channels!r}")

    def read(path: str | Path) -> np.ndarray:
        try:
            with Image.open(path) as img:
                img = img.convert(_MODES[channels])
                if size is not None and img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                return np.asarray(img, dtype=np.float32).reshape(img.size[1], img.size[0], channels)
        except FileNotFoundError:
            raise DataError(
                f"image file {str(path)!r} does not exist; check the image folder and file pattern"
            ) from None
        except OSError as exc:
            raise DataError(f"image file {str(path)!r} could not be read as an image: {exc}") from None

    if not len(paths):
        shape = (0, *(size or (0, 0)), channels)
        return np.zeros(shape, dtype=np.float32)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        images = list(pool.map(read, paths))
    first = images[0].shape
    for path, img in zip(paths, images, strict=True):
        if img.shape != first:
            raise DataError(
                f"image file {str(path)!r} is {img.shape[1]} x {img.shape[0]} but {str(paths[0])!r} is "
                f"{first[1]} x {first[0]}; pass size=(height, width) to resize them all"
            )
    return np.stack(images)


def image_columns(
    ids: pl.Series | Sequence[Any],
    directory: str | Path,
    *,
    pattern: str = "{id}.png",
    size: tuple[int, int] | None = None,
    channels: int = 3,
    threads: int = 4,
    id_name: str | None = None,
) -> pl.DataFrame:
    """A frame of the ids and their images' ``pixel{k}`` columns (``hwc`` order), to join on the id column."""
    values = ids.to_list() if isinstance(ids, pl.Series) else list(ids)
    name = id_name or (ids.name if isinstance(ids, pl.Series) and ids.name else "id")
    paths = [Path(directory) / pattern.format(id=v) for v in values]
    pixels = load_images(paths, size=size, channels=channels, threads=threads).reshape(len(values), -1)
    frame = pl.DataFrame(pixels, schema=[f"pixel{k}" for k in range(pixels.shape[1])], orient="row")
    return frame.insert_column(0, pl.Series(name, values))
