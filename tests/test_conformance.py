"""Every registered variant, built-in or third-party, passes the conformance check."""

import pytest

import ganzoo
from ganzoo.testing import check_variant


@pytest.mark.parametrize("name", ganzoo.list_variants())
def test_variant_conforms(name, tmp_path):
    check_variant(name, tmp_path)


def test_dcgan_conforms_at_64x64_in_colour(tmp_path):
    check_variant("dcgan", tmp_path, settings={"image_size": 64, "channels": 3, "g_width": 8, "d_width": 8})


@pytest.mark.parametrize("name", ["gan", "cgan"])
def test_mlp_variants_conform_on_points(name, tmp_path):
    check_variant(name, tmp_path, data_kind="points")


def test_cgan_conforms_with_the_conv_architecture(tmp_path):
    check_variant("cgan", tmp_path, settings={"arch": "conv", "image_size": 32, "width": 8})
