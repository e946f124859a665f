"""Streamed images for the ``cnn`` kind (``[data.images]`` stream mode): batches decoded from files, or read from the
run's memory-mapped cache, in torch ``DataLoader`` worker processes; memory holds a few batches, not the dataset.

The net's matrix holds one column, :data:`~kaggle_kit.readers.image_stream.IMAGE_REF`: each row's position in the
run's :class:`~kaggle_kit.readers.image_stream.ImageStream`. A worker turns a batch of positions into the same
float32 ``(B, C, H, W)`` array :class:`~kaggle_kit.models.nn.inputs.ImageInputs` makes from pixel columns
(standardised per channel with the fold's training statistics, computed exactly from per-channel histograms in both
modes), and :class:`StreamBatches` yields batches in the order :class:`~kaggle_kit.models.nn.batches.Batches` does
(one ``randperm`` of the same generator per epoch, the same batch bounds). Augmentation stays where it is for pixel
columns, on the device, per batch (:class:`~kaggle_kit.models.nn.augment.ImageAugment`, torch's seeded generator):
cheaper there than per image with Pillow, and it makes a streamed fit give exactly the pixel-column fit's
predictions. The workers draw no random numbers and the loader has a generator of its own, so they change nothing
in the fit's random stream; batches come back in order, so the worker count changes nothing either.

A process that is itself a daemon (the runner's pool workers) cannot start worker processes: there the batches are
read in the fitting process, decoding each batch's files with threads (Pillow releases the GIL).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ...errors import ConfigError, DataError
from ...features import FeatureMatrix
from ...readers.image_stream import IMAGE_REF, ImageStream
from .batches import batch_count
from .device import DevicePlan
from .inputs import _standardise, histogram_mean_std, pixel_histogram

#: rows per batch of the statistics pass
_STATS_BATCH = 256


def image_refs(model: str, X: FeatureMatrix, stream: ImageStream) -> np.ndarray:
    """The rows' positions in ``stream`` (int64), from the matrix's :data:`IMAGE_REF` column."""
    if IMAGE_REF not in X.names:
        raise ConfigError(
            f"model {model!r}: the images are streamed, but its rows have no {IMAGE_REF!r} column (their positions "
            "among the image files); a feature pipeline for a cnn on streamed images must keep that column"
        )
    refs = X.X[:, X.names.index(IMAGE_REF)]
    if len(refs) and (not np.isfinite(refs).all() or refs.min() < 0 or refs.max() >= len(stream)):
        raise ConfigError(
            f"model {model!r}: the {IMAGE_REF!r} column holds values that are not positions among the "
            f"{len(stream)} image files; a feature pipeline must leave that column as it is"
        )
    return refs.astype(np.int64)


class StreamedImages(Dataset):
    """Whole batches of a stream's images: ``dataset[positions]`` -> the standardised ``(B, C, H, W)`` float32
    images of rows ``refs[positions]``, and their targets when given; with ``histogram``, their per-channel
    histogram ``(C, 256)`` instead (the statistics pass)."""

    def __init__(
        self,
        stream: ImageStream,
        refs: np.ndarray,
        state: dict[str, Any] | None = None,
        target: np.ndarray | None = None,
        *,
        histogram: bool = False,
        threads: int = 1,
    ) -> None:
        self.stream = stream
        self.refs = refs
        self.target = target
        self.histogram = histogram
        self.threads = threads
        if state is not None:
            self.mean = np.asarray(state["mean"]).reshape(1, -1, 1, 1)
            self.std = np.asarray(state["std"]).reshape(1, -1, 1, 1)
        self._cache: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.refs)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": None}  # each worker maps the cache itself, never a copy of it

    def _images(self, rows: np.ndarray) -> np.ndarray:
        if self.stream.cache_path is not None:
            if self._cache is None:
                self._cache = np.load(self.stream.cache_path, mmap_mode="r", allow_pickle=False)
            return self.stream.read(rows, self._cache)
        if self.threads <= 1 or len(rows) < 2:
            return self.stream.read(rows)
        out = np.empty((len(rows), *self.stream.shape), dtype=np.uint8)

        def fill(k: int) -> None:
            out[k] = self.stream.decode(int(rows[k]))

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(fill, range(len(rows))))
        return out

    def __getitem__(self, positions: list[int]) -> tuple[torch.Tensor, ...] | _Failed:
        try:
            images = self._images(self.refs[positions])
        except DataError as exc:  # from a worker: handed back as it is, not wrapped in the worker's traceback
            return _Failed(str(exc))
        if self.histogram:
            return (torch.from_numpy(pixel_histogram(images)),)
        x = _standardise(images.transpose(0, 3, 1, 2).astype(np.float32), self.mean, self.std)  # as ImageInputs
        out = [torch.from_numpy(np.ascontiguousarray(x))]
        if self.target is not None:
            out.append(torch.from_numpy(np.ascontiguousarray(self.target[positions])))
        return tuple(out)


@dataclass(frozen=True)
class _Failed:
    """A batch whose files could not be read: the error's message, raised again in the fitting process."""

    message: str


class _EpochBatches:
    """The loader's sampler: this epoch's batches of positions, set before each pass."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def worker_count(stream: ImageStream) -> int:
    """``stream.workers``, else 0 when reading the cache (a memory-mapped read needs no other process) and 2 when
    decoding; 0 in a daemonic process, which may not start any."""
    if multiprocessing.current_process().daemon:
        return 0
    if stream.workers is not None:
        return stream.workers
    return 0 if stream.cache_path is not None else 2


class StreamBatches:
    """Batches of a :class:`StreamedImages` on ``plan.device``, as :class:`~kaggle_kit.models.nn.batches.Batches`
    batches arrays: ``shuffle`` draws one ``randperm`` from ``generator`` per pass, ``drop_singleton`` drops a last
    batch of one row. ``workers`` processes prepare up to two batches each ahead of the loop."""

    def __init__(
        self,
        dataset: StreamedImages,
        *,
        batch_size: int,
        plan: DevicePlan,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_singleton: bool = False,
        workers: int = 0,
    ) -> None:
        self.n = len(dataset)
        self.batch_size = batch_size
        self.plan = plan
        self.device = torch.device(plan.device)
        self.shuffle = shuffle
        self.generator = generator
        self.drop_singleton = drop_singleton
        self._epoch = _EpochBatches()
        self.loader = DataLoader(
            dataset,
            sampler=self._epoch,
            batch_size=None,  # the dataset reads whole batches
            num_workers=workers,
            generator=torch.Generator().manual_seed(0),  # not torch's global one: the fit's random stream is kept
            pin_memory=plan.pin_memory,
            prefetch_factor=2 if workers else None,
            persistent_workers=workers > 0,
        )

    def __len__(self) -> int:
        return batch_count(self.n, self.batch_size, self.drop_singleton)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        self._epoch.batches = [
            order[b * self.batch_size : min((b + 1) * self.batch_size, self.n)].tolist() for b in range(len(self))
        ]
        for batch in self.loader:
            if isinstance(batch, _Failed):
                raise DataError(batch.message)
            yield tuple(t.to(self.device, non_blocking=self.plan.non_blocking) for t in batch)


def fit_stream_inputs(
    model: str, shape: tuple[int, int, int], stream: ImageStream, refs: np.ndarray, threads: int = 1
) -> dict[str, Any]:
    """The input state :class:`~kaggle_kit.models.nn.inputs.ImageInputs` fits on pixel columns, from the fold's
    training images read once (per-channel histograms, exact), plus ``streamed``."""
    if tuple(shape) != tuple(stream.shape):
        raise ConfigError(
            f"model {model!r}: params.image_shape = {list(shape)} but the streamed images are {list(stream.shape)} "
            "([height, width, channels]); set image_shape to that or change data.images.size / channels"
        )
    dataset = StreamedImages(stream, refs, histogram=True, threads=threads)
    batches = StreamBatches(dataset, batch_size=_STATS_BATCH, plan=_HOST, workers=worker_count(stream))
    hist = np.zeros((shape[2], 256), dtype=np.int64)
    for (part,) in batches:
        hist += part.numpy()
    mean, std = histogram_mean_std(hist)
    return {"layout": "image", "shape": list(shape), "order": "hwc", "mean": mean, "std": std, "streamed": True}


def stream_batches(
    stream: ImageStream,
    refs: np.ndarray,
    state: dict[str, Any],
    target: np.ndarray | None,
    *,
    batch_size: int,
    plan: DevicePlan,
    threads: int = 1,
    **kwargs: Any,
) -> StreamBatches:
    """:class:`StreamBatches` of the rows ``refs`` of ``stream`` (and ``target``), standardised with ``state``."""
    workers = worker_count(stream)
    dataset = StreamedImages(stream, refs, state, target, threads=1 if workers else threads)
    return StreamBatches(dataset, batch_size=batch_size, plan=plan, workers=workers, **kwargs)


_HOST = DevicePlan("cpu", None, False, False, False, False)  #: the statistics pass: plain host tensors
