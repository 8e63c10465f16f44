"""Images: text by OCR with Tesseract, an optional extra.

Needs the ``tesseract`` program (Debian ``tesseract-ocr``) and the ``pytesseract`` and Pillow
packages. Without them an image is skipped with that reason; it is never guessed at.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
import time
import warnings
from collections.abc import Iterator

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, LimitReached, Unsupported
from scanner.extract.text import text_chunks

MAX_PIXELS = 40_000_000  # a 40-megapixel scan is plenty; more is a decompression bomb
MISSING = "an image; OCR needs the tesseract program (Debian tesseract-ocr) and pytesseract"


def ocr_available() -> bool:
    """Whether this machine can OCR: the packages import and the program is on PATH."""
    found = all(importlib.util.find_spec(name) for name in ("pytesseract", "PIL"))
    return found and shutil.which("tesseract") is not None


def image_chunks(data: bytes, ctype: str, ctx: Context) -> Iterator[Chunk]:
    """OCR text of the image (each frame of a multi-page TIFF is a page), with line numbers."""
    if not ocr_available():
        raise Unsupported(MISSING)
    import pytesseract  # type: ignore[import-untyped]
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise Unsupported(f"{ctype} too large to OCR: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        # Skipped rather than failed: OCR is best effort, and a damaged image holds no text.
        raise Unsupported(f"{ctype} could not be decoded for OCR ({exc})") from exc
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise Unsupported(f"{ctype} of {width}x{height} pixels (more than {MAX_PIXELS:,})")
        frames = getattr(image, "n_frames", 1)
        for frame in range(frames):
            ctx.count_page()
            remaining = ctx.budget.deadline - time.monotonic()
            if remaining <= 0:
                raise LimitReached(f"time limit of {ctx.limits.seconds:g}s per item reached")
            try:
                image.seek(frame)
                text = pytesseract.image_to_string(image.convert("RGB"), timeout=remaining)
            except RuntimeError as exc:  # pytesseract's timeout
                raise LimitReached(f"OCR stopped by the time limit: {exc}") from exc
            except (OSError, ValueError, pytesseract.TesseractError) as exc:
                raise ExtractionError(f"OCR failed: {exc}") from exc
            if text.strip():
                where = ctx.loc(page=frame + 1) if frames > 1 else ctx.base
                yield from text_chunks(text, Context(ctx.budget, where, ctx.depth))
