"""DiffAugment: the paper's transforms, per image, differentiable, and wired to what D sees."""

import pytest
import torch

from ganzoo.augment import diff_augment


def test_translation_shifts_each_image_by_its_own_offset_within_an_eighth_and_fills_zeros():
    torch.manual_seed(0)
    x = torch.full((256, 1, 16, 16), -1.0)
    x[:, 0, 8, 8] = 1.0  # one bright pixel per image
    out = diff_augment(x, ("translation",))
    where = [(img[0] == 1.0).nonzero().tolist() for img in out]
    shifts = {(r - 8, c - 8) for ((r, c),) in where}  # every image still holds its one pixel
    assert all(abs(dy) <= 2 and abs(dx) <= 2 for dy, dx in shifts)  # 16 / 8 = 2
    assert len(shifts) == 25  # all 5 x 5 offsets occur: each image draws its own
    moved = [img for img, ((r, c),) in zip(out, where) if (r, c) == (10, 10)][0]  # shifted down-right by 2
    assert (moved[0, :2] == 0).all() and (moved[0, :, :2] == 0).all()  # the uncovered border is zero-filled


def test_cutout_zeroes_a_square_of_half_the_side_and_color_leaves_label_planes_alone():
    torch.manual_seed(0)
    out = diff_augment(torch.ones(512, 2, 8, 8), ("cutout",))
    zeros = (out[:, 0] == 0).sum((1, 2))
    assert zeros.max() == 16 and zeros.min() >= 4  # a 4 x 4 square, clipped where it overhangs an edge
    assert torch.equal(out[:, 0] == 0, out[:, 1] == 0)  # the same square in every channel

    planes = torch.ones(64, 3, 8, 8)  # image channel 0, then two conditioning planes
    coloured = diff_augment(planes, ("color",), image_channels=1)
    assert torch.equal(coloured[:, 1:], planes[:, 1:]) and not torch.equal(coloured[:, 0], planes[:, 0])


def test_gradients_flow_through_every_transform_to_the_generator_output():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 16, 16, requires_grad=True)
    diff_augment(x, ("color", "translation", "cutout")).square().sum().backward()
    assert x.grad is not None and (x.grad != 0).any()


def test_bad_policies_and_shapes_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown DiffAugment policy 'flip'"):
        diff_augment(torch.zeros(1, 1, 8, 8), ("flip",))
    with pytest.raises(ValueError, match="takes image batches"):
        diff_augment(torch.zeros(4, 2), ("cutout",))


def test_diffaugment_changes_training_reproducibly_and_is_refused_where_no_d_sees_it(cli, tmp_path):
    import ganzoo

    fast = {"steps": 2, "batch_size": 8, "g_width": 8, "d_width": 8, "sample_every": 0}
    a = ganzoo.train("dcgan", out=str(tmp_path / "a"), diffaugment=("translation", "cutout"), pack=2, **fast)
    b = ganzoo.train("dcgan", out=str(tmp_path / "b"), pack=2, **fast)
    again = ganzoo.train("dcgan", out=str(tmp_path / "c"), diffaugment=("translation", "cutout"), pack=2, **fast)
    from safetensors.torch import load_file

    wa, wb, wc = (load_file(r.export_dir / "model.safetensors") for r in (a, b, again))
    assert all(torch.equal(wa[k], wc[k]) for k in wa)  # seeded: bit-reproducible
    assert not all(torch.equal(wa[k], wb[k]) for k in wa)  # and it changes training

    done = cli("run", "gan", "--data", "ring8", "--steps", "1", "--set", "diffaugment=cutout")
    assert done.returncode == 2 and "does not apply to a points dataset" in done.stderr and "Traceback" not in done.stderr
    done = cli("run", "dcgan", "--steps", "1", "--set", "diffaugment=flip")
    assert done.returncode == 2 and "diffaugment" in done.stderr



STROKE = (0.8, -0.2, 0.4)  # a colour whose channels differ in size, so their order can be read back


def _stroke_images(n):
    x = torch.zeros(n, 3, 8, 8)
    x[:, :, 2:6, 3:5] = torch.tensor(STROKE).view(1, 3, 1, 1)  # one coloured stroke on black
    return x


def test_recolor_remaps_each_images_colours_and_leaves_its_shapes_alone():
    from ganzoo.augment import recolor

    torch.manual_seed(0)
    x = _stroke_images(512)
    out = recolor(x)
    stroke, background = out[:, :, 3, 3], out[:, :, 7, 7]
    # A colour map per image: every pixel of one colour gets one colour, so the stroke keeps its shape.
    assert torch.allclose(out[:, :, 2:6, 3:5], stroke.view(512, 3, 1, 1).expand(512, 3, 4, 2))
    assert torch.allclose(out[:, :, 4:, 5:], background.view(512, 3, 1, 1).expand(512, 3, 4, 3))
    assert (stroke - background).abs().amax(1).min() > 0  # the stroke never merges with its background
    torch.manual_seed(1)
    again = recolor(x)
    torch.manual_seed(0)
    assert torch.equal(recolor(x), out) and not torch.equal(again, out)  # drawn from the seeded global RNG


def test_recolor_draws_every_channel_order_and_inversion():
    from unittest import mock

    from ganzoo import augment

    torch.manual_seed(0)
    with mock.patch.object(augment, "_color", lambda y: y):  # the first two steps alone
        out = augment.recolor(_stroke_images(512))[:, :, 3, 3]
    seen = set()
    for o in out.tolist():
        order = tuple(min(range(3), key=lambda c: abs(abs(o[k]) - abs(STROKE[c]))) for k in range(3))
        assert sorted(order) == [0, 1, 2]  # a permutation: each input channel lands in one output channel
        assert [abs(v) for v in o] == pytest.approx([abs(STROKE[c]) for c in order])
        seen.add((order, tuple(o[k] * STROKE[order[k]] > 0 for k in range(3))))
    assert len(seen) == 6 * 8  # all 3! orders times 2^3 sign patterns occur


def test_recolor_is_differentiable_and_refuses_non_images():
    from ganzoo.augment import recolor

    x = torch.randn(4, 3, 8, 8, requires_grad=True)
    recolor(x).square().sum().backward()
    assert x.grad is not None and (x.grad != 0).any()
    with pytest.raises(ValueError, match="takes image batches"):
        recolor(torch.zeros(4, 3))
