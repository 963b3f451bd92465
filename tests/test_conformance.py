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


def test_srgan_conforms_across_the_switch_from_srresnet_to_adversarial_training(tmp_path):
    check_variant("srgan", tmp_path, settings={"hr_size": 32, "pretrain_steps": 1, "n_blocks": 1, "g_width": 8, "d_width": 8}, steps=3)


def test_cyclegan_history_buffer_is_checkpointed(tmp_path):
    # A history of 4 fills within the first step, so the resumed steps draw from a restored buffer.
    check_variant("cyclegan", tmp_path, settings={"history": 4, "g_width": 8, "n_blocks": 1, "d_width": 8}, steps=3)
