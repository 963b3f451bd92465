"""Datasets: the embedded digits, torchvision's real loaders on files in their real format, folders."""

import hashlib
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo._plugins import registry
from ganzoo import DataRequest
from ganzoo.data import BatchStream, InMemoryData, load_data
from ganzoo.errors import DataError


def test_digits_are_served_at_the_requested_size_with_labels():
    d = load_data("digits", DataRequest(size=32), registry().datasets)
    assert d.x.shape == (1797, 1, 32, 32) and d.x.dtype == torch.uint8
    assert d.num_classes == 10 and sorted(d.y.unique().tolist()) == list(range(10))
    x = d.as_model_input(d.x[:100])
    assert x.min() == -1.0 and x.max() <= 1.0 and x.max() > 0.9
    rgb = load_data("digits", DataRequest(size=16, channels=3), registry().datasets)
    assert rgb.x.shape == (1797, 3, 16, 16)
    assert torch.equal(rgb.x[:, 0], rgb.x[:, 1])


def write_idx(path, array):
    """The IDX format of MNIST's files: magic (0, 0, dtype 0x08, ndim), big-endian dims, bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_torchvision_idx_datasets_load_through_torchvision(tmp_path, monkeypatch, name, folder):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 28, 28))
    labels = np.arange(20) % 10
    raw = tmp_path / folder / "raw"
    for split, n in (("train", 20), ("t10k", 5)):
        write_idx(raw / f"{split}-images-idx3-ubyte", images[:n])
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels[:n])
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    d = load_data(name, DataRequest(size=28), registry().datasets)
    assert d.x.shape == (20, 1, 28, 28)
    assert torch.equal(d.x[:, 0], torch.from_numpy(images).to(torch.uint8))
    assert d.y.tolist() == labels.tolist()
    assert load_data(name, DataRequest(size=32), registry().datasets).x.shape == (20, 1, 32, 32)


def test_cifar10_loads_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(1)
    files = {}
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        entry = {"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8), "labels": list(range(4))}
        (base / name).write_bytes(pickle.dumps(entry))
        files[name] = entry
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    md5 = lambda n: hashlib.md5((base / n).read_bytes()).hexdigest()  # noqa: E731
    # torchvision verifies each file's md5 before reading it; point the expected sums at our files.
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[f"data_batch_{i}", md5(f"data_batch_{i}")] for i in range(1, 6)])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5("batches.meta")})
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    d = load_data("cifar10", DataRequest(size=32), registry().datasets)
    assert d.x.shape == (20, 3, 32, 32)
    first = torch.from_numpy(files["data_batch_1"]["data"][0].reshape(3, 32, 32))
    assert torch.equal(d.x[0], first)
    assert load_data("cifar10", DataRequest(size=32, channels=1), registry().datasets).x.shape == (20, 1, 32, 32)


def test_offline_download_fails_with_one_clear_sentence(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as err:
        load_data("mnist", DataRequest(size=32), registry().datasets)
    message = str(err.value)
    assert message.startswith(f"dataset 'mnist' is not in {tmp_path} and could not be downloaded")
    assert "--data digits" in message and "\n" not in message


def save_image(path, size=(12, 10), mode="RGB", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255 - value)).save(path)


def test_folder_with_class_subfolders_gives_labels(tmp_path):
    for cls in ("cats", "dogs"):
        for i in range(3):
            save_image(tmp_path / cls / f"{i}.png")
    d = load_data(str(tmp_path), DataRequest(size=8), registry().datasets)
    assert d.x.shape == (6, 3, 8, 8)
    assert d.y.tolist() == [0, 0, 0, 1, 1, 1] and d.num_classes == 2


def test_flat_grayscale_folder_keeps_one_channel(tmp_path):
    for i in range(4):
        save_image(tmp_path / f"{i}.jpg", mode="L", size=(20, 30))
    d = load_data(str(tmp_path), DataRequest(size=16), registry().datasets)
    assert d.x.shape == (4, 1, 16, 16) and d.y is None


@pytest.mark.parametrize("make,fragment", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: p, "holds no images"),
])
def test_bad_folders_are_named(tmp_path, make, fragment):
    (tmp_path / "notes.txt").write_text("not an image")
    path = make(tmp_path)
    with pytest.raises(DataError, match=fragment) as err:
        load_data(str(path), DataRequest(size=8), registry().datasets)
    assert str(path) in str(err.value)


def test_unknown_dataset_name_suggests_one():
    with pytest.raises(DataError, match="unknown dataset 'digitz'; did you mean 'digits'"):
        load_data("digitz", DataRequest(), registry().datasets)


def test_batch_stream_is_a_function_of_seed_and_position():
    data = InMemoryData("t", torch.arange(10, dtype=torch.float32).unsqueeze(1), kind="points")
    a = BatchStream(data, 4, seed=1)
    batches = [a.next().x.flatten().tolist() for _ in range(5)]
    # each epoch (2 batches of 4 from 10) holds distinct samples
    assert len(set(batches[0] + batches[1])) == 8
    b = BatchStream(data, 4, seed=1)
    b.position = 3
    assert b.next().x.flatten().tolist() == batches[3]
    assert BatchStream(data, 4, seed=2).next().x.flatten().tolist() != batches[0]
    # two ranks split a global batch without overlap
    r0, r1 = BatchStream(data, 2, seed=1, rank=0, world=2), BatchStream(data, 2, seed=1, rank=1, world=2)
    assert r0.next().x.flatten().tolist() + r1.next().x.flatten().tolist() == batches[0]
