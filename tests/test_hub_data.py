"""Hub dataset repos as training data (`--data hf-hub:owner/name`, `ganzoo prepare hf-hub:...`): the
real huggingface_hub client against the local Hub server (tests/hubserver.py), with repos written
in the formats the Hub holds: parquet as `datasets`' push_to_hub writes it (an Image feature of
{bytes, path} structs, a ClassLabel, the schema's "huggingface" metadata), and an image folder."""

import io
import json
import os

import numpy as np
import pytest
import yaml
from PIL import Image

from test_hub import _local_hub

pa = pytest.importorskip("pyarrow")  # in the test extra; the guard only keeps a bare checkout's import error readable
import pyarrow.parquet as pq  # noqa: E402

FAST = ["--batch-size", "4", "--set", "image_size=8", "--set", "sample_every=0", "--set", "checkpoint_every=0"]  # cgan: its MLPs


@pytest.fixture
def hub(tmp_path):
    yield from _local_hub(tmp_path, in_process=True)


def png(colour, side=20, mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (side, side), colour).save(buf, format="PNG")
    return buf.getvalue()


def parquet(rows: list[dict], features: dict | None) -> bytes:
    """A parquet file as `datasets` writes it: image cells are {bytes, path} structs, and the
    features ride in the schema's "huggingface" metadata."""
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [pa.field(k, image if isinstance(v, dict) else pa.int64()) for k, v in rows[0].items()]
    schema = pa.schema(fields, metadata={b"huggingface": json.dumps({"info": {"features": features}}).encode()} if features else None)
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


SHAPES = {"image": {"_type": "Image"}, "label": {"names": ["red", "blue"], "_type": "ClassLabel"}}


def shapes_repo(hub, name="me/shapes", damaged=False) -> str:
    rows = [{"image": {"bytes": png((200, 10, 10)), "path": None}, "label": 0} for _ in range(5)]
    rows += [{"image": {"bytes": png((10, 10, 200)), "path": None}, "label": 1} for _ in range(5)]
    if damaged:
        rows.append({"image": {"bytes": b"not a png", "path": "x.png"}, "label": 0})
    test = [{"image": {"bytes": png((0, 255, 0)), "path": None}, "label": 0}]
    return hub.add_dataset(name, {
        "README.md": b"---\nlicense: mit\n---\n# shapes\n",
        "data/train-00000-of-00001.parquet": parquet(rows, SHAPES),
        "data/test-00000-of-00001.parquet": parquet(test, SHAPES),
        "loader.py": b"raise SystemExit('a dataset script must never be fetched')\n",
    })


def test_a_parquet_dataset_repo_prepares_its_train_split_with_labels_and_names(hub, tmp_path):
    from ganzoo.data.prepared import IMAGES, LABELS, Manifest

    sha = shapes_repo(hub, damaged=True)
    done = hub.run("prepare", "hf-hub:me/shapes", "-o", "prep", "--size", "8")
    assert done.returncode == 0, done.stderr
    assert "prepared 10 images of 3x8x8, 2 classes (red, blue)" in done.stdout and "1 left out" in done.stdout
    manifest = Manifest.read(tmp_path / "prep")
    assert manifest.source == f"hf-hub:me/shapes@{sha}" and manifest.class_names == ("red", "blue")
    assert len(manifest.skipped) == 1 and manifest.skipped[0].startswith("data/train-00000-of-00001.parquet row 10 (UnidentifiedImageError")
    images = np.fromfile(tmp_path / "prep" / IMAGES, np.uint8).reshape(10, 3, 8, 8)
    labels = np.load(tmp_path / "prep" / LABELS, allow_pickle=False)
    assert labels.tolist() == [0] * 5 + [1] * 5
    assert (images[labels == 0, 0] > 150).all() and (images[labels == 1, 2] > 150).all()  # each label follows its image
    fetched = {p.name for p in (tmp_path / "hf").rglob("*") if p.is_file() or p.is_symlink()}
    assert "train-00000-of-00001.parquet" in fetched  # the train split, and nothing else of the repo's files
    assert not {"test-00000-of-00001.parquet", "loader.py"} & fetched

    strict = hub.run("prepare", "hf-hub:me/shapes", "-o", "prep2", "--size", "8", "--strict")
    assert strict.returncode == 2 and "1 of 11 images could not be read: data/train-00000-of-00001.parquet row 10" in strict.stderr


def test_training_on_a_hub_dataset_records_its_commit_and_a_second_run_offline_decodes_nothing(hub, tmp_path, monkeypatch):
    from ganzoo.data import prepared

    sha = shapes_repo(hub)
    first = hub.run("run", "cgan", "--data", "hf-hub:me/shapes", "--steps", "2", *FAST, "--out", "a")
    assert first.returncode == 0, first.stderr
    export = json.loads((tmp_path / "a" / "export" / "config.json").read_text())
    assert export["training"]["dataset"] == f"hf-hub:me/shapes@{sha}"  # pinned: the branch may move on
    assert export["data"]["class_names"] == ["red", "blue"]
    card = (tmp_path / "a" / "export" / "README.md").read_text()
    assert yaml.safe_load(card.split("---")[1])["datasets"] == ["me/shapes"]  # the card links the Hub dataset
    assert f"--data hf-hub:me/shapes@{sha}" in card  # and its reproduce line reads the same commit

    hub.add_dataset("me/shapes", {"data/train-00000-of-00001.parquet": parquet(
        [{"image": {"bytes": png((0, 0, 0)), "path": None}, "label": 1}] * 12, SHAPES)})  # main moves on

    def no_decoding(job):
        raise AssertionError("decoded again")

    monkeypatch.setattr(prepared, "_decode", no_decoding)
    again = hub.run("run", "cgan", "--data", f"hf-hub:me/shapes@{sha}", "--steps", "2", *FAST, "--out", "b", HF_HUB_OFFLINE="1")
    assert again.returncode == 0, again.stderr
    # eval reads its reference, the pinned commit with the run's columns, from the cache before it
    # finds that the digits judge does not apply to these images
    evaluated = hub.run("eval", "a", "--metrics", "fid-digitscnn-x5", HF_HUB_OFFLINE="1")
    assert evaluated.returncode == 2 and "does not apply" in evaluated.stderr, evaluated.stderr
    monkeypatch.undo()
    moved = hub.run("prepare", "hf-hub:me/shapes", "-o", "moved", "--size", "8")  # main, online: the new commit
    assert moved.returncode == 0 and "prepared 12 images" in moved.stdout, moved.stderr


def test_an_image_folder_repo_takes_its_labels_from_the_train_folders(hub, tmp_path):
    hub.add_dataset("me/pets", {
        **{f"train/cat/{i}.png": png(250, 12, "L") for i in range(3)},
        **{f"train/dog/{i}.png": png(5, 12, "L") for i in range(3)},
        "test/cat/0.png": png(128, 12, "L"),
        "README.md": b"# pets\n",
    })
    done = hub.run("prepare", "hf-hub:me/pets", "-o", "prep")
    assert done.returncode == 0, done.stderr
    assert "prepared 6 images of 1x12x12, 2 classes (cat, dog)" in done.stdout  # grey images: one channel; the size, their own


def test_columns_are_picked_by_set_keys_when_a_repo_has_several(hub, tmp_path):
    features = {"img": {"_type": "Image"}, "fine": {"names": ["a", "b", "c"], "_type": "ClassLabel"},
                "coarse": {"names": ["x", "y"], "_type": "ClassLabel"}}
    rows = [{"img": {"bytes": png((i * 40, 0, 0), 8), "path": None}, "fine": i % 3, "coarse": i % 2} for i in range(6)]
    hub.add_dataset("me/two", {"train.parquet": parquet(rows, features)})
    ambiguous = hub.run("run", "cgan", "--data", "hf-hub:me/two", "--steps", "1", *FAST, "--out", "r")
    assert ambiguous.returncode == 2 and "Traceback" not in ambiguous.stderr
    assert "has several label columns (fine, coarse); name one with --set label_column=NAME, or none" in ambiguous.stderr
    picked = hub.run("run", "cgan", "--data", "hf-hub:me/two", "--steps", "1", *FAST, "--set", "label_column=coarse", "--out", "r2")
    assert picked.returncode == 0, picked.stderr
    assert json.loads((tmp_path / "r2" / "export" / "config.json").read_text())["data"]["class_names"] == ["x", "y"]
    unlabelled = hub.run("prepare", "hf-hub:me/two", "-o", "p", "--label-column", "none")
    assert unlabelled.returncode == 0 and "classes" not in unlabelled.stdout, unlabelled.stderr
    wrong = hub.run("prepare", "hf-hub:me/two", "-o", "p2", "--image-column", "fine")
    assert wrong.returncode == 2 and "column 'fine' does not hold images; image columns: img" in wrong.stderr


def test_a_parquet_without_features_metadata_is_read_by_its_columns_types(hub, tmp_path):
    rows = [{"image": {"bytes": png((9, 9, 9), 8), "path": None}, "label": i % 2} for i in range(4)]
    hub.add_dataset("me/plain", {"data/train-0.parquet": parquet(rows, None)})
    done = hub.run("prepare", "hf-hub:me/plain", "-o", "p")
    assert done.returncode == 0 and "2 classes (0, 1)" in done.stdout, done.stderr


def test_hub_dataset_failures_are_one_line(hub, tmp_path, monkeypatch):
    import sys

    missing = hub.run("run", "cgan", "--data", "hf-hub:me/nope", "--steps", "1", *FAST)
    assert missing.returncode == 2 and "no dataset repo 'me/nope'" in missing.stderr and "Traceback" not in missing.stderr
    bad_id = hub.run("prepare", "hf-hub:nope", "-o", "p")
    assert bad_id.returncode == 2 and "'hf-hub:nope' is not a Hub dataset id" in bad_id.stderr
    offline = hub.run("prepare", "hf-hub:me/shapes", "-o", "p", HF_HUB_OFFLINE="1")
    assert offline.returncode == 2 and "not in the Hugging Face cache" in offline.stderr
    hub.add_dataset("me/labelless", {"train.parquet": parquet([{"image": {"bytes": png((1, 2, 3), 8), "path": None}}] * 3, None)})
    needs_labels = hub.run("run", "cgan", "--data", "hf-hub:me/labelless", "--steps", "1", *FAST)
    assert needs_labels.returncode == 2 and "served no labels, but the variant needs them" in needs_labels.stderr
    cycle = hub.run("run", "cyclegan", "--data", "hf-hub:me/labelless", "--steps", "1")
    assert cycle.returncode == 2 and "a Hub dataset serves one domain of resized images; the variant asks for two image domains" in cycle.stderr
    shapes_repo(hub)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # pyarrow not installed
    no_arrow = hub.run("prepare", "hf-hub:me/shapes", "-o", "p")
    assert no_arrow.returncode == 2 and "needs pyarrow: pip install 'torch-ganzoo[hf-datasets]'" in no_arrow.stderr


def test_rows_without_a_class_are_refused_with_the_way_out(hub, tmp_path):
    rows = [{"image": {"bytes": png((9, 9, 9), 8), "path": None}, "label": -1}] + [
        {"image": {"bytes": png((9, 9, 9), 8), "path": None}, "label": 0}] * 3
    hub.add_dataset("me/partial", {"train.parquet": parquet(rows, SHAPES)})
    done = hub.run("prepare", "hf-hub:me/partial", "-o", "p")
    assert done.returncode == 2 and "1 rows of column 'label' hold no class (-1 or out of range); train without labels with --set label_column=none" in done.stderr
    assert os.path.exists(tmp_path / "p") is False
