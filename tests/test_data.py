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


# -- image folders as users have them ---------------------------------------------------------------


def _users_folder(root):
    """Two classes of 12x12 images in every mode Pillow writes, plus what real folders also hold."""
    import io

    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    ramp16 = (np.arange(144, dtype=np.uint16).reshape(12, 12) * 400)  # 0..57200 of 65535
    Image.fromarray(ramp16).save(root / "cat" / "grey16.png")
    rgba = np.zeros((12, 12, 4), np.uint8)
    rgba[..., 0] = 255  # hidden colour red under alpha 0 ...
    rgba[:6, :, 3] = 255  # ... except the top half, opaque red
    Image.fromarray(rgba, "RGBA").save(root / "cat" / "rgba.png")
    Image.fromarray(np.full((12, 12, 3), 90, np.uint8)).convert("P").save(root / "dog" / "palette.png")
    Image.fromarray(np.full((12, 12, 3), 200, np.uint8)).convert("CMYK").save(root / "dog" / "cmyk.jpg")
    la = np.stack([np.full((12, 12), 40, np.uint8), np.full((12, 12), 0, np.uint8)], -1)
    Image.fromarray(la, "LA").save(root / "dog" / "la.png")
    buf = io.BytesIO()
    Image.fromarray(np.full((12, 12, 3), 10, np.uint8)).save(buf, format="PNG")
    (root / "dog" / "cut.png").write_bytes(buf.getvalue()[:40])  # truncated
    (root / "cat" / "notes.jpg").write_text("not an image")
    (root / ".ipynb_checkpoints" / "cat").mkdir(parents=True)
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(root / ".ipynb_checkpoints" / "cat" / "grey16-checkpoint.png")
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(root / "stray.png")
    (root / "README.txt").write_text("my cats and dogs")
    return root


def test_a_users_folder_is_read_as_a_person_sees_it(tmp_path, caplog):
    folder = _users_folder(tmp_path / "pets")
    with caplog.at_level("WARNING"):
        data = load_data(str(folder), DataRequest(channels=3, labels=True), registry().datasets)
    assert data.class_names == ("cat", "dog") and data.num_classes == 2  # the hidden folder is no class
    assert len(data) == 5  # 2 cats and 3 dogs: the two unreadable files skipped, the stray one left out
    warnings = [r.getMessage() for r in caplog.records]
    unreadable = [w for w in warnings if "cannot be read" in w]
    assert len(unreadable) == 1 and "skipping 2 of 7" in unreadable[0] and "cut.png" in unreadable[0] and "notes.jpg" in unreadable[0]
    assert any("1 image file(s) lie beside the class folders (stray.png)" in w for w in warnings)
    by_name = dict(zip(["grey16", "rgba", "cmyk", "la", "palette"], data.x))  # files in sorted order: cat/..., dog/...
    grey16 = by_name["grey16"][0].float()
    expected = torch.from_numpy((np.arange(144).reshape(12, 12) * 400 / 65535 * 255).round())
    assert torch.allclose(grey16, expected.float(), atol=1)  # scaled to 8 bits, not clipped to white
    rgba = by_name["rgba"]
    assert rgba[:, :6].float().mean(dim=(1, 2)).tolist() == [255.0, 0.0, 0.0]  # opaque red stays red
    assert rgba[:, 6:].float().mean(dim=(1, 2)).tolist() == [255.0, 255.0, 255.0]  # transparent: white, not the hidden red
    assert by_name["la"].float().mean() == 255.0  # fully transparent grey: white
    assert abs(by_name["palette"].float().mean() - 90) < 2 and abs(by_name["cmyk"].float().mean() - 200) < 4


def test_strict_refuses_a_folder_with_unreadable_files_naming_them(tmp_path):
    from ganzoo.data import load_data

    folder = _users_folder(tmp_path / "pets")
    with pytest.raises(DataError, match=r"2 of 7 files could not be read: .*cut\.png.*notes\.jpg|2 of 7 files could not be read: .*notes\.jpg.*cut\.png"):
        load_data(str(folder), DataRequest(channels=3), registry().datasets, strict=True)


def test_small_images_are_warned_about(tmp_path, caplog):
    for i in range(3):
        Image.fromarray(np.full((10, 12), 50 * i, np.uint8)).save(tmp_path / f"{i}.png")
    with caplog.at_level("WARNING"):
        data = load_data(str(tmp_path), DataRequest(size=32), registry().datasets)
    assert data.x.shape == (3, 1, 32, 32)
    assert any("3 of 3 images are smaller than the training size 32x32 (median 12x10)" in r.getMessage() for r in caplog.records)


def test_a_plugin_loader_that_ignores_the_requested_size_is_refused(register_plugin):
    import ganzoo
    from ganzoo.data import Dataset

    class Plugin:
        @ganzoo.hookimpl
        def register_datasets(self, register):
            register(Dataset("fixed-size", "always 8x8", lambda req: InMemoryData("fixed-size", torch.zeros(4, 1, 8, 8, dtype=torch.uint8))))

    register_plugin(Plugin(), "fixed-size-plugin")
    with pytest.raises(DataError, match=r"dataset 'fixed-size' served 8x8 images, but 32x32 were asked for"):
        load_data("fixed-size", DataRequest(size=32), registry().datasets)


def test_a_users_folder_trains_and_its_class_names_come_back(cli, tmp_path):
    """Through the real CLI: the folder's problems are told in warnings, the run trains, the export
    records the class folders' names, `ganzoo sample --label NAME` takes them, and grids are labelled."""
    import json

    _users_folder(tmp_path / "pets")
    ran = cli("run", "cgan", "--data", "pets", "--steps", "2", "--batch-size", "4", "--set", "channels=3", "--set", "num_samples=4", "--out", "r")
    assert ran.returncode == 0, ran.stderr
    assert "skipping 2 of 7 image files that cannot be read" in ran.stderr and "lie beside the class folders (stray.png)" in ran.stderr
    io = json.loads((tmp_path / "r" / "export" / "config.json").read_text())["io"]
    assert io["id2label"] == {"0": "cat", "1": "dog"}
    dogs = cli("sample", "r", "--label", "dog", "-n", "2", "-o", "dogs.png")
    assert dogs.returncode == 0, dogs.stderr
    assert Image.open(tmp_path / "dogs.png").size == (2 * 30 + 2, 30 + 2)  # 28x28 images, 2-pixel padding
    cow = cli("sample", "r", "--label", "cow", "-n", "3")
    assert cow.returncode == 2 and "no class named 'cow'; classes: cat, dog" in cow.stderr
    grid = Image.open(tmp_path / "r" / "export" / "samples.png").convert("L")
    margin = np.asarray(grid)[:, : grid.width - (2 * 30 + 2)]  # one row per class, 2 per row: the rest is the label margin
    assert margin.shape[1] > 8 and (margin < 128).any()  # dark text on the white margin: the row labels
    strict = cli("run", "cgan", "--data", "pets", "--steps", "2", "--strict", "--out", "s")
    assert strict.returncode == 2 and "2 of 7 files could not be read" in strict.stderr and not (tmp_path / "s" / "config.json").exists()


# -- prepared datasets (#29 item 1) ------------------------------------------------------------------


def _shapes_folder(root, n_per_class=3, size=20):
    from PIL import Image

    for k, cls in enumerate(("circle", "square")):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            Image.new("RGB", (size + i, size), (40 * i, 100 * k, 200)).save(root / cls / f"{i}.png")
    (root / "square" / "broken.png").write_bytes(b"not a png")


def test_prepare_decodes_once_into_an_array_labels_and_a_manifest(cli, tmp_path):
    import numpy as np

    from ganzoo.data.prepared import IMAGES, LABELS, Manifest

    _shapes_folder(tmp_path / "shapes")
    done = cli("prepare", "shapes", "-o", "prep", "--size", "16")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "prepared 6 images of 3x16x16, 2 classes (circle, square) into prep; 1 left out (manifest.json lists them)"
    manifest = Manifest.read(tmp_path / "prep")
    assert manifest.shape == (6, 3, 16, 16) and manifest.class_names == ("circle", "square")
    assert manifest.skipped[0].startswith("square/broken.png (UnidentifiedImageError")
    array = np.fromfile(tmp_path / "prep" / IMAGES, dtype=np.uint8).reshape(manifest.shape)
    assert array[3:, 1].mean() > 90 > array[:3, 1].mean()  # the squares' green channel: the labels follow the images
    assert np.load(tmp_path / "prep" / LABELS, allow_pickle=False).tolist() == [0, 0, 0, 1, 1, 1]
    strict = cli("prepare", "shapes", "-o", "prep2", "--size", "16", "--strict")
    assert strict.returncode == 2 and "1 of 7 files could not be read: broken.png" not in strict.stderr
    assert "1 of 7 files could not be read: square/broken.png" in strict.stderr and not (tmp_path / "prep2").exists()


def test_a_prepared_dataset_trains_and_its_class_names_come_back(cli, tmp_path):
    import json

    _shapes_folder(tmp_path / "shapes")
    assert cli("prepare", "shapes", "-o", "prep", "--size", "32").returncode == 0
    ran = cli("run", "cgan", "--data", "prep", "--steps", "2", "--batch-size", "4", "--set", "channels=3", "--set", "num_samples=4", "--out", "r")
    assert ran.returncode == 0, ran.stderr
    io = json.loads((tmp_path / "r" / "export" / "config.json").read_text())["io"]
    assert io["id2label"] == {"0": "circle", "1": "square"}


def test_a_folder_is_decoded_once_and_again_only_when_it_changes(tmp_path, monkeypatch, caplog):
    from PIL import Image

    from ganzoo.data import load_data, prepared
    from ganzoo.data.types import DataRequest

    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path / "cache"))
    _shapes_folder(tmp_path / "shapes")
    request = DataRequest(size=16, channels=3, labels=True)
    first = load_data(str(tmp_path / "shapes"), request, {})
    assert len(list((tmp_path / "cache" / "prepared").iterdir())) == 1

    def no_decoding(job):
        raise AssertionError(f"decoded {job[0]} again")

    monkeypatch.setattr(prepared, "_decode", no_decoding)
    second = load_data(str(tmp_path / "shapes"), request, {})  # a cache hit: nothing decoded
    assert torch.equal(first.x, second.x) and torch.equal(first.y, second.y) and second.name == str(tmp_path / "shapes")
    monkeypatch.undo()
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path / "cache"))
    Image.new("RGB", (20, 20), (0, 0, 0)).save(tmp_path / "shapes" / "circle" / "new.png")
    with caplog.at_level("WARNING"):
        third = load_data(str(tmp_path / "shapes"), request, {})
    assert len(third) == 7 and "changed since it was prepared" in caplog.text


def test_parallel_decoding_gives_the_same_array_as_one_process(tmp_path):
    import numpy as np
    from PIL import Image

    from ganzoo.data.prepared import IMAGES, SERIAL_BELOW, prepare_folder

    (tmp_path / "many").mkdir()
    rng = np.random.default_rng(0)
    for i in range(SERIAL_BELOW + 20):
        Image.fromarray(rng.integers(0, 255, (12, 12), dtype=np.uint8)).save(tmp_path / "many" / f"{i:04d}.png")
    prepare_folder(tmp_path / "many", tmp_path / "one", size=8, workers=1, progress=False)
    prepare_folder(tmp_path / "many", tmp_path / "two", size=8, workers=2, progress=False)
    assert (tmp_path / "one" / IMAGES).read_bytes() == (tmp_path / "two" / IMAGES).read_bytes()


# -- streaming a prepared dataset from its file (#29 items 2 and 3) ------------------------------------


@pytest.fixture
def prepared_digits(tmp_path_factory):
    """40 labelled 16x16 images, prepared."""
    import numpy as np
    from PIL import Image

    from ganzoo.data.prepared import prepare_folder

    root = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(0)
    for k in range(2):
        (root / "src" / f"c{k}").mkdir(parents=True)
        for i in range(20):
            Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(root / "src" / f"c{k}" / f"{i}.png")
    prepare_folder(root / "src", root / "prep", size=16, progress=False)
    return root / "prep"


@pytest.mark.parametrize("reader", ["preadv", "map"])
def test_streamed_and_in_memory_batches_are_the_same_and_ranks_are_disjoint(prepared_digits, reader, monkeypatch):
    import os

    from ganzoo.data import BatchStream
    from ganzoo.data.prepared import load_prepared
    from ganzoo.data.types import DataRequest

    if reader == "map":  # an OS without preadv (Windows): batches are gathered from the map instead
        monkeypatch.delattr(os, "preadv")
    mapped = load_prepared(prepared_digits, DataRequest(size=16, channels=1, labels=True))
    assert mapped.mapped and not mapped.loaded().mapped
    whole = mapped.loaded()
    a, b = BatchStream(mapped, 16, seed=3, channels_last=True), BatchStream(whole, 16, seed=3)
    assert (a._fd is not None) == (reader == "preadv")
    for _ in range(7):  # 3 epochs of 2 batches and a bit: reshuffles included
        x, y = a.next(), b.next()
        assert x.x.dtype == torch.float32 and torch.equal(x.x, y.x) and torch.equal(x.y, y.y)
    a.position = b.position = 1  # a resumed stream continues from its position alone
    assert torch.equal(a.next().x, b.next().x)
    # Two processes: disjoint shares of every global batch, together covering the epoch.
    shares = [set(), set()]
    for rank in (0, 1):
        s = BatchStream(mapped, 8, seed=3, rank=rank, world=2)
        for _ in range(2):  # an epoch: 40 images, global batches of 16, 2 of them
            shares[rank] |= set(s._indices(40, 0).tolist())
            s.position += 1
    assert not shares[0] & shares[1] and len(shares[0]) == len(shares[1]) == 16


def test_a_prepared_file_cut_short_is_named_when_a_batch_reaches_past_its_end(prepared_digits, tmp_path):
    import shutil

    from ganzoo.data import BatchStream
    from ganzoo.data.prepared import IMAGES, load_prepared
    from ganzoo.data.types import DataRequest

    copy = tmp_path / "copy"
    shutil.copytree(prepared_digits, copy)
    data = load_prepared(copy, DataRequest(size=16, channels=1))
    stream = BatchStream(data, 40, seed=0)  # every image, the last included
    with open(copy / IMAGES, "r+b") as f:  # the file loses its last image after it was opened
        f.truncate((len(data) - 1) * 16 * 16)
    with pytest.raises(DataError, match=r"images.u8' ends before image 39: the prepared dataset was cut short; prepare it again"):
        stream.next()


def test_training_streamed_is_bit_identical_and_resumes_exactly(cli, prepared_digits, tmp_path):
    from safetensors.torch import load_file

    # dcgan serves 32x32: prepared at that size, the dataset is used as it is on disk (mapped).
    assert cli("prepare", str(prepared_digits.parent / "src"), "-o", "p32", "--size", "32").returncode == 0
    run = ["run", "dcgan", "--data", str(tmp_path / "p32"), "--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8",
           "--set", "sample_every=0"]
    on = cli(*run, "--steps", "5", "--set", "stream=on", "--set", "checkpoint_every=3", "--out", "on")
    off = cli(*run, "--steps", "5", "--set", "stream=off", "--out", "off")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    # An interrupted streamed run: stopped at step 3 (mid-epoch: 40 images are 2.5 batches of 16), resumed to 5.
    import ganzoo
    from ganzoo._plugins import registry
    from ganzoo.training import prepare, prepare_resume

    t = prepare(registry(), "dcgan", data=str(tmp_path / "p32"), out=tmp_path / "split", progress=False,
                settings={"batch_size": 16, "g_width": 8, "d_width": 8, "sample_every": 0, "stream": "on", "steps": 5, "checkpoint_every": 3})
    assert t.data.mapped
    t.fit(stop_at=3)
    prepare_resume(registry(), tmp_path / "split", progress=False).fit()
    weights = [load_file(tmp_path / d / "export" / "model.safetensors") for d in ("on", "off", "split")]
    assert all(torch.equal(weights[0][k], w[k]) for w in weights[1:] for k in weights[0])
    assert ganzoo.load(tmp_path / "on").data.shape == (1, 32, 32)


def test_stream_on_needs_a_prepared_dataset(cli):
    done = cli("run", "dcgan", "--steps", "1", "--set", "stream=on", "--out", "r")
    assert done.returncode == 2 and "stream=on reads batches from a prepared dataset's file" in done.stderr


# -- more of the datasets GAN users train on (#29 item 4, in part) ---------------------------------------


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar100_svhn_and_stl10_load_through_torchvision(tmp_path, monkeypatch):
    import scipy.io
    import torchvision.datasets as tvd

    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    rng = np.random.default_rng(2)
    # CIFAR-100: pickled batches, read by torchvision only after their md5 is checked (pointed at ours here).
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    train = {"data": rng.integers(0, 256, (6, 3072)).astype(np.uint8), "fine_labels": [0, 5, 99, 1, 2, 3]}
    (base / "train").write_bytes(pickle.dumps(train))
    (base / "test").write_bytes(pickle.dumps({"data": train["data"][:1], "fine_labels": [0]}))
    (base / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"f{i}" for i in range(100)]}))
    monkeypatch.setattr(tvd.CIFAR100, "train_list", [["train", _md5(base / "train")]])
    monkeypatch.setattr(tvd.CIFAR100, "test_list", [["test", _md5(base / "test")]])
    monkeypatch.setattr(tvd.CIFAR100, "meta", {"filename": "meta", "key": "fine_label_names", "md5": _md5(base / "meta")})
    c = load_data("cifar100", DataRequest(size=32), registry().datasets)
    assert c.x.shape == (6, 3, 32, 32) and c.y.tolist() == [0, 5, 99, 1, 2, 3] and c.num_classes == 100
    assert torch.equal(c.x[2], torch.from_numpy(train["data"][2].reshape(3, 32, 32))) and c.class_names[99] == "f99"
    # SVHN: a MATLAB file, X as (H, W, C, N), label 10 meaning the digit 0.
    (tmp_path / "SVHN").mkdir()
    X = rng.integers(0, 256, (32, 32, 3, 5)).astype(np.uint8)
    scipy.io.savemat(tmp_path / "SVHN" / "train_32x32.mat", {"X": X, "y": np.array([[10], [1], [2], [3], [9]])})
    monkeypatch.setitem(tvd.SVHN.split_list, "train", ["", "train_32x32.mat", _md5(tmp_path / "SVHN" / "train_32x32.mat")])
    s = load_data("svhn", DataRequest(size=32), registry().datasets)
    assert s.y.tolist() == [0, 1, 2, 3, 9] and torch.equal(s.x[1], torch.from_numpy(X[..., 1].transpose(2, 0, 1)))
    # STL-10's unlabelled split: raw bytes, (N, 3, 96, 96) with each image stored column-major.
    stl = tmp_path / "stl10_binary"
    stl.mkdir()
    unlabeled = rng.integers(0, 256, (3, 3, 96, 96)).astype(np.uint8)
    unlabeled.transpose(0, 1, 3, 2).tofile(stl / "unlabeled_X.bin")
    for name in ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin"):
        (stl / name).write_bytes(b"\\0")
    (stl / "class_names.txt").write_text("\\n".join(f"k{i}" for i in range(10)))
    monkeypatch.setattr(tvd.STL10, "train_list", [[n, _md5(stl / n)] for n in ("train_X.bin", "train_y.bin", "unlabeled_X.bin")])
    monkeypatch.setattr(tvd.STL10, "test_list", [[n, _md5(stl / n)] for n in ("test_X.bin", "test_y.bin")])
    u = load_data("stl10", DataRequest(size=96), registry().datasets)
    assert u.x.shape == (3, 3, 96, 96) and u.y is None and torch.equal(u.x[0], torch.from_numpy(unlabeled[0]))


def test_an_offline_download_leaves_no_empty_folder(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.SVHN, "split_list", {**tvd.SVHN.split_list, "train": ["http://127.0.0.1:9/train_32x32.mat", "train_32x32.mat", "0" * 32]})
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DataError, match="dataset 'svhn' is not in .* and could not be downloaded"):
        load_data("svhn", DataRequest(size=32), registry().datasets)
    assert not (tmp_path / "data").exists()


def test_ganzoo_datasets_names_each_datasets_terms(cli):
    listed = cli("datasets").stdout
    assert "licence / terms" in listed.splitlines()[0]
    rows = {line.split()[0]: line for line in listed.splitlines()[2:]}
    assert "non-commercial" in rows["svhn"] and "CC BY 4.0" in rows["digits"] and "cs.toronto.edu" in rows["cifar100"]
    assert all(not row.rstrip().endswith(" -") for row in rows.values())  # every built-in dataset says where its terms are


def test_celeba_is_the_face_crop_and_imagenet_its_synset_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    for name in ("celeba", "imagenet"):  # absent: one line saying where it goes and how to get it
        with pytest.raises(DataError, match=f"dataset '{name}' is not in {tmp_path}"):
            load_data(name, DataRequest(size=16), registry().datasets)
    faces = tmp_path / "celeba" / "img_align_celeba"
    faces.mkdir(parents=True)
    for i in range(3):  # aligned 178x218: red above row 20 and below row 198, the face square blue
        image = np.zeros((218, 178, 3), dtype=np.uint8)
        image[:, :, 2] = 200
        image[:20, :, 0] = image[198:, :, 0] = 255
        Image.fromarray(image).save(faces / f"{i:06d}.jpg", quality=95)
    c = load_data("celeba", DataRequest(size=16), registry().datasets)
    assert c.x.shape == (3, 3, 16, 16) and c.y is None and c.name == "celeba"
    assert int(c.x[:, 0].max()) < 40 and int(c.x[:, 2].min()) > 150  # none of the red band: the face square alone
    train = tmp_path / "imagenet" / "train"
    for synset in ("n01440764", "n01443537"):
        for i in range(2):
            save_image(train / synset / f"{synset}_{i}.JPEG", size=(20, 16))
    d = load_data("imagenet", DataRequest(size=8, labels=True), registry().datasets)
    assert d.x.shape == (4, 3, 8, 8) and d.class_names == ("n01440764", "n01443537") and d.y.tolist() == [0, 0, 1, 1]


def test_an_lsun_category_is_read_from_its_lmdb_once(tmp_path, monkeypatch):
    import io

    import lmdb

    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="dataset 'lsun-church_outdoor' is not in .*python download.py -c church_outdoor"):
        load_data("lsun-church-outdoor", DataRequest(size=16), registry().datasets)
    db = tmp_path / "lsun" / "church_outdoor_train_lmdb"
    db.parent.mkdir()
    with lmdb.open(str(db), map_size=1 << 24) as env, env.begin(write=True) as txn:
        for i in range(3):  # LSUN's values are webp files' bytes under a hex key
            buf = io.BytesIO()
            Image.new("RGB", (24, 20), (80 * i, 10, 10)).save(buf, format="WEBP", lossless=True)
            txn.put(f"{i:040x}".encode(), buf.getvalue())
    d = load_data("lsun-church-outdoor", DataRequest(size=16), registry().datasets)
    assert d.x.shape == (3, 3, 16, 16) and d.name == "lsun-church_outdoor" and d.y is None
    assert sorted(int(v) for v in d.x[:, 0, 8, 8]) == [0, 80, 160]
    assert (tmp_path / "lsun" / "church_outdoor_train_images" / ".complete").is_file()


@pytest.mark.parametrize("variant,size,settings", [
    ("dcgan", 64, ["--set", "g_width=8", "--set", "d_width=8"]),
    ("r3gan", 64, ["--set", "width=16", "--set", "min_width=8", "--set", "group_size=8"]),
    ("r3gan", 128, ["--set", "width=16", "--set", "min_width=8", "--set", "group_size=8"]),
])
def test_higher_resolutions_run_end_to_end_from_a_prepared_folder(cli, tmp_path, variant, size, settings):
    """Prepare, train (streamed), export, sample and evaluate at 64 and 128 px (tiny widths)."""
    rng = np.random.default_rng(size)
    for i in range(24):
        save_image(tmp_path / "photos" / f"{i}.jpg", size=(size + 10, size + 4), value=int(rng.integers(0, 255)))
    (tmp_path / "feats.py").write_text(
        "import torch\n"
        "def extractor():\n"
        "    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())\n")
    assert cli("prepare", "photos", "-o", "prep", "--size", str(size)).returncode == 0
    ran = cli("run", variant, "--data", "prep", "--set", f"image_size={size}", "--set", "stream=on", "--steps", "2",
              "--batch-size", "4", "--set", "sample_every=0", *settings, "--out", "r")
    assert ran.returncode == 0, ran.stderr
    sampled = cli("sample", "r", "-n", "4", "-o", "g.png")
    assert sampled.returncode == 0 and Image.open(tmp_path / "g.png").size == (2 * (size + 2) + 2,) * 2
    scored = cli("eval", "r", "--metrics", "fid-userfeatures-x5", "--features", "feats:extractor", "--json")
    assert scored.returncode == 0, scored.stderr
    import json

    assert json.loads(scored.stdout)["metrics"]["fid-userfeatures-x5"]["values"]["fid"] >= 0


def test_a_registered_dataset_can_be_prepared_too(cli, tmp_path):
    from ganzoo.data.prepared import Manifest

    done = cli("prepare", "digits", "-o", "prep", "--size", "16")
    assert done.returncode == 0 and done.stdout.startswith("prepared 1,797 images of 1x16x16, 10 classes"), done.stderr
    assert Manifest.read(tmp_path / "prep").fingerprint == "dataset:digits"
    ran = cli("run", "cgan", "--data", "prep", "--set", "image_size=16", "--steps", "1", "--batch-size", "8", "--out", "r")
    assert ran.returncode == 0, ran.stderr
    typo = cli("prepare", "cifar-10", "-o", "x")
    assert typo.returncode == 2 and "did you mean 'cifar10'" in typo.stderr
