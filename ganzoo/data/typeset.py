"""``digits-typeset``: an unpaired two-domain dataset that needs no download, for CycleGAN.

Domain A is the embedded handwritten ``digits``. Domain B is the same ten digits typeset in the
TrueType faces that ship inside Pillow and matplotlib (DejaVu, STIX, Computer Modern: serif, sans,
mono, bold, italic), each drawn with a random face, size, rotation, shift and stroke weight, so
domain B has real variety. System fonts are deliberately not used: they differ between machines,
and the dataset (and every number measured on it) must be the same everywhere.

Labels are kept for evaluation only (does A->B keep the digit?); training is unpaired and shuffled.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from ..variant import DataRequest
from .memory import InMemoryData

SEED = 2017  # the data are the same for everyone, whatever the training seed
COUNT = 2000  # domain B samples, about as many as domain A's 1,797
CANVAS = 32  # rendered at 32x32 and served at the variant's size
# matplotlib's bundled faces; Pillow's own default face is added in fonts().
MPL_FACES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf",
)


@functools.cache
def font_files() -> tuple[str | None, ...]:
    """Paths of the faces used; ``None`` stands for Pillow's bundled default face."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return (None, *(str(folder / f) for f in MPL_FACES if (folder / f).is_file()))


@functools.cache
def _font(path: str | None, size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size) if path is None else ImageFont.truetype(path, size)


def render(count: int = COUNT, seed: int = SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """(count, 1, 32, 32) uint8 white-on-black typeset digits and their labels."""
    from PIL import Image, ImageDraw

    g = torch.Generator().manual_seed(seed)
    faces = font_files()
    labels = torch.randint(0, 10, (count,), generator=g)
    face = torch.randint(0, len(faces), (count,), generator=g)
    size = torch.randint(18, 29, (count,), generator=g)  # glyph height varies by about 1.5x
    angle = (torch.rand(count, generator=g) * 30 - 15).tolist()  # degrees
    shift = torch.randint(-3, 4, (count, 2), generator=g).tolist()  # pixels
    stroke = torch.randint(0, 2, (count,), generator=g).tolist()  # 0 or 1 px extra stroke
    out = torch.empty(count, 1, CANVAS, CANVAS, dtype=torch.uint8)
    big = CANVAS * 2  # draw at twice the size, rotate, then downsample: smooth edges
    for i in range(count):
        font = _font(faces[int(face[i])], int(size[i]) * 2)
        im = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(im)
        draw.text((big / 2, big / 2), str(int(labels[i])), fill=255, font=font, anchor="mm",
                  stroke_width=2 * stroke[i], stroke_fill=255)
        im = im.rotate(angle[i], resample=Image.Resampling.BILINEAR, translate=(2 * shift[i][0], 2 * shift[i][1]))
        im = im.resize((CANVAS, CANVAS), Image.Resampling.BOX)
        out[i, 0] = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(CANVAS, CANVAS)
    return out, labels.long()


def load_digits_typeset(request: DataRequest) -> InMemoryData:
    from .sources import fit_images, load_digits

    a = load_digits(DataRequest(size=request.size or CANVAS, channels=request.channels))
    xb, yb = render()
    xb = fit_images(xb, DataRequest(size=a.x.shape[-1], channels=a.x.shape[1]))
    return InMemoryData("digits-typeset", a.x, a.y, 10, x_b=xb, y_b=yb)
