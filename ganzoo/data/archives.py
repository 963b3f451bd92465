"""Large datasets that users place under the data root by their own means (each one's error says
how), then decoded once into a prepared copy: CelebA's aligned faces, ImageNet's training folders,
and LSUN's LMDB databases."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..errors import DataError
from .memory import InMemoryData
from .prepared import cached_folder
from .sources import data_root
from .types import DataRequest

# CelebA's aligned faces are 178x218 with the eyes at a fixed height; GAN papers train on the face
# square, rows 20..198 (DCGAN's, BEGAN's and most re-implementations' crop), resized.
CELEBA_BOX = (0, 20, 178, 198)


def load_celeba(request: DataRequest, root: Path | None = None) -> InMemoryData:
    """CelebA's 202,599 aligned faces (img_align_celeba/), the usual face crop, through a prepared copy."""
    folder = (Path(root) if root is not None else data_root()) / "celeba" / "img_align_celeba"
    if not folder.is_dir():
        raise DataError(f"dataset 'celeba' is not in {folder.parent}: torchvision fetches it from Google Drive with "
                        f"`python -c \"import torchvision; torchvision.datasets.CelebA('{folder.parent.parent}', download=True)\"` "
                        "(or unpack img_align_celeba.zip there), then run again; or use --data with a folder of faces")
    data = cached_folder(folder, request, box=CELEBA_BOX)
    return dataclasses.replace(data, name="celeba")


def load_imagenet(request: DataRequest, root: Path | None = None) -> InMemoryData:
    """ILSVRC-2012's training images in their standard layout (train/<synset>/*.JPEG), the synsets as
    classes, through a prepared copy: 1.28 M images, so prepare it once at the size you train at."""
    folder = (Path(root) if root is not None else data_root()) / "imagenet" / "train"
    if not folder.is_dir():
        raise DataError(f"dataset 'imagenet' is not in {folder}: ImageNet cannot be downloaded for you (its terms need an "
                        "account at image-net.org); put ILSVRC2012's train/ folder (one sub-folder per synset) there, "
                        "or give --data that folder")
    data = cached_folder(folder, request)
    return dataclasses.replace(data, name="imagenet")


LSUN_CATEGORIES = ("bedroom", "bridge", "church_outdoor", "classroom", "conference_room", "dining_room", "kitchen",
                   "living_room", "restaurant", "tower", "cat", "dog", "car", "bird", "horse", "cow", "sheep", "airplane",
                   "bicycle", "boat", "bottle", "bus", "chair", "dining_table", "motorbike", "potted_plant", "sofa",
                   "train", "tv-monitor", "person")


def load_lsun(category: str, request: DataRequest, root: Path | None = None) -> InMemoryData:
    """An LSUN category's training images from its official LMDB (``lsun/<category>_train_lmdb``,
    what LSUN's download script gives), through a prepared copy. The LMDB's values are the image
    files' own bytes (webp/jpeg); they are written out once as files and prepared like any folder
    (torchvision's LSUN would keep a pickled key cache; nothing here is unpickled)."""
    base = (Path(root) if root is not None else data_root()) / "lsun"
    db = base / f"{category}_train_lmdb"
    if not db.is_dir():
        raise DataError(f"dataset 'lsun-{category}' is not in {base}: LSUN is fetched with its own script "
                        f"(github.com/fyu/lsun: `python download.py -c {category}`), then unzipped so that {db} exists")
    try:
        import lmdb
    except ImportError:
        raise DataError(f"dataset 'lsun-{category}' is an LMDB database: pip install lmdb (or \"torch-ganzoo[lsun]\")") from None
    images = base / f"{category}_train_images"
    done = images / ".complete"
    if not done.is_file():
        tmp = images.with_name(f".tmp-{os.getpid()}-{images.name}")
        tmp.mkdir(parents=True, exist_ok=True)
        with lmdb.open(str(db), readonly=True, lock=False, readahead=False, max_readers=1) as env, env.begin() as txn:
            for i, (key, value) in enumerate(txn.cursor()):
                name = key.decode("ascii", "replace").replace("/", "_")
                (tmp / f"{i:08d}-{name}.webp").write_bytes(value)  # Pillow reads by content, not by suffix
        (tmp / ".complete").write_text("")
        if images.exists():
            import shutil

            shutil.rmtree(images)
        os.replace(tmp, images)
    data = cached_folder(images, request)
    return dataclasses.replace(data, name=f"lsun-{category}")
