"""Inception-v3 metrics: weights from safetensors, the one-time download and conversion, the errors.

The real weights cannot be downloaded here, so the tests use a randomly initialised network with the
real tensor names and shapes, written in the formats the code reads (safetensors, and torch-fidelity's
.pth for the download path, served from 127.0.0.1).
"""

import functools
import hashlib
import http.server
import threading
from unittest import mock

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganzoo._plugins import registry
from ganzoo.errors import GanzooError
from ganzoo.eval import inception


@functools.cache
def random_state() -> dict:
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    torch.manual_seed(0)
    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), \
         mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        net = fe.FeatureExtractorInceptionV3("random", ["2048"])
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.fixture
def weights(tmp_path, monkeypatch):
    path = tmp_path / "inception.safetensors"
    save_file(random_state(), str(path))
    monkeypatch.setenv(inception.WEIGHTS.env, str(path))
    return path


def test_features_from_safetensors_weights(weights):
    net = inception.load()
    g = torch.Generator().manual_seed(0)
    grey = torch.rand(3, 1, 32, 32, generator=g) * 2 - 1
    out = net(grey)
    assert out["2048"].shape == (3, 2048) and out["logits_unbiased"].shape == (3, 1008)
    assert torch.isfinite(out["2048"]).all()
    assert torch.equal(net(grey.expand(-1, 3, -1, -1))["2048"], out["2048"])  # grey is read as RGB
    assert torch.equal(net(grey)["2048"], out["2048"])  # deterministic


def test_fid_and_is_inception_metrics_on_a_trained_export(weights, tmp_path, monkeypatch):
    import ganzoo
    from ganzoo.eval import builtin, evaluate

    monkeypatch.setattr(builtin, "MAX_N", 8)  # Inception at 299x299 is slow on a CPU; the protocol is the same
    # One draw: each FID of 2048-d features is a 5-second eigendecomposition on one core; the draws'
    # mean and spread are tested in test_eval on the digits CNN.
    monkeypatch.setattr(builtin, "DRAWS", 1)
    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=1, batch_size=16, g_width=8, d_width=8)
    doc = evaluate(result.run_dir, registry(), ["fid-inception-x5", "kid-inception-x5"], write=False)
    fid = doc["metrics"]["fid-inception-x5"]
    assert fid["values"]["n_generated"] == 8 and fid["values"]["fid"] > 0
    assert "Inception-v3 2015-12-05" in fid["protocol"]["feature_network"]
    default = evaluate(result.run_dir, registry(), write=False)  # not named: the download-needing metrics do not run
    assert not [m for m in default["metrics"] if "inception" in m] and "fid-digitscnn-x5" in default["metrics"]


def test_weights_must_be_safetensors_and_the_right_network(tmp_path, monkeypatch):
    monkeypatch.setenv(inception.WEIGHTS.env, str(tmp_path / "inception.pth"))
    with pytest.raises(GanzooError, match="must name a .safetensors file"):
        inception.load()
    monkeypatch.setenv(inception.WEIGHTS.env, str(tmp_path / "missing.safetensors"))
    with pytest.raises(GanzooError, match="no such file"):
        inception.load()
    wrong = tmp_path / "wrong.safetensors"
    save_file({"conv.weight": torch.zeros(2, 2)}, str(wrong))
    monkeypatch.setenv(inception.WEIGHTS.env, str(wrong))
    with pytest.raises(GanzooError, match="does not hold the Inception-v3 FID weights"):
        inception.load()


class _Files(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def served_pth(tmp_path):
    """torch-fidelity's file format (a pickled state dict), served on 127.0.0.1."""
    pth = tmp_path / "served.pth"
    torch.save(random_state(), pth)
    _Files.body = pth.read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/weights-inception.pth", hashlib.sha256(_Files.body).hexdigest()
    server.shutdown()


def test_first_use_online_downloads_checks_and_stores_safetensors(served_pth, tmp_path, monkeypatch):
    url, digest = served_pth
    monkeypatch.delenv(inception.WEIGHTS.env, raising=False)
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(inception.WEIGHTS, "url", url)
    monkeypatch.setattr(inception.WEIGHTS, "sha256", digest[:8] + "0" * 56)  # the name's prefix matches, the rest does not
    with pytest.raises(GanzooError, match="expected"):
        inception.load()
    assert not inception.WEIGHTS.cached_path().exists() and not list(inception.WEIGHTS.cached_path().parent.iterdir())
    monkeypatch.setattr(inception.WEIGHTS, "sha256", digest)
    inception.load()
    stored = load_file(str(inception.WEIGHTS.cached_path()))
    assert stored.keys() == random_state().keys()
    assert all(torch.equal(stored[k], v) for k, v in random_state().items())
    assert [p.name for p in inception.WEIGHTS.cached_path().parent.iterdir()] == [inception.WEIGHTS.filename]  # no pickle left
    monkeypatch.setattr(inception.WEIGHTS, "url", "http://127.0.0.1:9/unreachable")
    inception.load()  # cached: no network needed


def test_offline_without_a_copy_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv(inception.WEIGHTS.env, raising=False)
    monkeypatch.setenv("GANZOO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(inception.WEIGHTS, "url", "http://127.0.0.1:9/weights-inception.pth")  # port 9: closed
    with pytest.raises(GanzooError, match=f"cannot download the Inception weights.*set {inception.WEIGHTS.env}"):
        inception.load()
