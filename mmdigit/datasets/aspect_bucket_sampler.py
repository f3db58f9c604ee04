"""``AspectRatioBucketBatchSampler``: batches of house-number crops with similar width/height.

Why: a batch is padded to its widest image, and house-number crops are all landscape with aspect ratios
from ~1 (one digit) to ~6 (long numbers). mmdet's ``AspectRatioBatchSampler`` has only two buckets (portrait,
landscape), so every batch pads to nearly the widest crop: on the synthetic train split at the CPU config's
192x64 scale, random batches of 16 were 63% image and 37% padding; with 8 aspect buckets, 77% image.
Bucket edges are the dataset's aspect-ratio quantiles, so every bucket fills at the same rate and batches stay
a random draw of the data (the order within the epoch comes from the wrapped sampler, as in mmdet's); width =
height is an edge too, so portrait images (vertical numbers) never share a batch with landscape ones, as in
mmdet's sampler.

Not in the CPU config, measured (2026-12-01, the demo's data and seed, 2-core AVX2): a training step 1.09x faster
(8 buckets: 0.347 -> 0.318 s, interleaved, faster in all 6 rounds; 16 buckets no better), but batches of one
aspect are batches of one number length, and the model learned worse per iteration: validation accuracy at 2000
iterations 0.696 against 0.759 with mmdet's two buckets, 0.707 against 0.790 after the demo's 18 minutes.
"""
from __future__ import annotations

import bisect

import numpy as np
from mmdet.datasets.samplers import AspectRatioBatchSampler
from mmdet.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class AspectRatioBucketBatchSampler(AspectRatioBatchSampler):
    """Group indices of ``sampler`` into batches of images from the same aspect-ratio bucket.

    Args:
        sampler: the index sampler (its ``dataset`` gives each image's ``width`` and ``height``).
        batch_size: images per batch.
        num_buckets: aspect-ratio quantile buckets, with equally many images each (fewer when ratios repeat),
            the one holding width = height split there (so one more when images of both orientations exist).
        drop_last: drop the last incomplete batch of an epoch.
    """

    def __init__(self, sampler: Sampler, batch_size: int, num_buckets: int = 8, drop_last: bool = False) -> None:
        super().__init__(sampler, batch_size, drop_last)
        if not isinstance(num_buckets, int) or num_buckets < 1:
            raise ValueError(f'num_buckets must be a positive integer, got {num_buckets!r}')
        dataset = sampler.dataset
        ratios = np.empty(len(dataset))
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            ratios[i] = info['width'] / max(info['height'], 1)
        edges = np.unique(np.quantile(ratios, np.arange(1, num_buckets) / num_buckets)) if len(ratios) else []
        if len(ratios) and ratios.min() < 1.0 <= ratios.max():  # mmdet's rule: width < height is portrait
            edges = np.unique(np.append(edges, 1.0))
        self.bucket_of = [bisect.bisect_right(edges, r) for r in ratios.tolist()]
        self._aspect_ratio_buckets = [[] for _ in range(len(edges) + 1)]

    def __iter__(self):
        for idx in self.sampler:
            bucket = self._aspect_ratio_buckets[self.bucket_of[idx]]
            bucket.append(idx)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                del bucket[:]
        # the epoch's remainders, mixed, as mmdet's sampler does
        left = [i for bucket in self._aspect_ratio_buckets for i in bucket]
        self._aspect_ratio_buckets = [[] for _ in self._aspect_ratio_buckets]
        for start in range(0, len(left), self.batch_size):
            batch = left[start:start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch
