"""``digits-typeset``: an unpaired two-domain dataset that needs no download, for CycleGAN.

Domain A is the embedded handwritten ``digits``. Domain B is the same ten digits typeset in the
TrueType faces that ship inside Pillow and matplotlib (DejaVu, STIX, Computer Modern: serif, sans,
mono, bold, italic), each drawn with a random face, stroke weight, rotation, size and shift, so
domain B has real variety, and scaled to the frame as the handwritten digits were (see ``render``). System fonts are deliberately not used: they differ between machines,
and the dataset (and every number measured on it) must be the same everywhere.

Labels are kept for evaluation only (does A->B keep the digit?); training is unpaired and shuffled.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from .memory import InMemoryData
from .types import DataRequest

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
    """(count, 1, 32, 32) uint8 white-on-black typeset digits and their labels.

    Each glyph is drawn large in a random face and stroke weight, rotated, cropped to its bounding
    box and scaled so its longer side fills 75-100 % of the frame, then shifted: the normalisation
    the handwritten digits went through (UCI: each digit's bounding box scaled to the 32x32 frame),
    so the two domains differ in style, as MNIST and USPS do, not in size and position. Glyphs
    drawn at their font size instead (18-28 of 32 pixels, anywhere) made a label-keeping
    translation a change of geometry, which ResNet generators do not learn (CycleGAN's Sec. 5.2)."""
    from PIL import Image, ImageDraw

    g = torch.Generator().manual_seed(seed)
    faces = font_files()
    labels = torch.randint(0, 10, (count,), generator=g)
    face = torch.randint(0, len(faces), (count,), generator=g)
    fill = (0.75 + 0.25 * torch.rand(count, generator=g)).tolist()  # longer side / frame side
    angle = (torch.rand(count, generator=g) * 20 - 10).tolist()  # degrees
    shift = torch.randint(-2, 3, (count, 2), generator=g).tolist()  # pixels
    stroke = torch.randint(0, 3, (count,), generator=g).tolist()  # 0, 1 or 2 px extra stroke (at 4x)
    out = torch.empty(count, 1, CANVAS, CANVAS, dtype=torch.uint8)
    big = CANVAS * 4  # draw at four times the size, then box-downsample: smooth edges
    for i in range(count):
        im = Image.new("L", (big, big), 0)
        ImageDraw.Draw(im).text((big / 2, big / 2), str(int(labels[i])), fill=255, font=_font(faces[int(face[i])], 80),
                                anchor="mm", stroke_width=2 * stroke[i], stroke_fill=255)
        glyph = im.rotate(angle[i], resample=Image.Resampling.BILINEAR)
        glyph = glyph.crop(glyph.getbbox())
        k = big * fill[i] / max(glyph.size)
        glyph = glyph.resize((max(1, round(glyph.width * k)), max(1, round(glyph.height * k))), Image.Resampling.BOX)
        im = Image.new("L", (big, big), 0)
        im.paste(glyph, ((big - glyph.width) // 2 + 4 * shift[i][0], (big - glyph.height) // 2 + 4 * shift[i][1]))
        im = im.resize((CANVAS, CANVAS), Image.Resampling.BOX)
        out[i, 0] = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(CANVAS, CANVAS)
    return out, labels.long()


def load_digits_typeset(request: DataRequest) -> InMemoryData:
    from .sources import fit_images, load_digits

    a = load_digits(DataRequest(size=request.size or CANVAS, channels=request.channels))
    xb, yb = render()
    xb = fit_images(xb, DataRequest(size=a.x.shape[-1], channels=a.x.shape[1]))
    return InMemoryData("digits-typeset", a.x, a.y, 10, x_b=xb, y_b=yb)
