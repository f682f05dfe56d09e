"""The CJK font the server's PDFs embed (the 通报, the 任务清单, the 督办单/催办单).

DUBAN_CJK_FONT (a .ttf/.ttc file), else the first of Debian's fonts-wqy-zenhei, fonts-noto-cjk or
fonts-arphic found. Without one, a Chinese error names what to install: a PDF of empty boxes is
never produced.
"""

from __future__ import annotations

import os
from pathlib import Path

FONT = "DubanCJK"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class PdfError(RuntimeError):
    """The PDF cannot be made here (message in Chinese)."""


def cjk_font_path() -> Path:
    """The CJK font file to embed, or PdfError saying what to install."""
    configured = os.environ.get("DUBAN_CJK_FONT", "").strip()
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise PdfError(f"DUBAN_CJK_FONT 指向的字体文件不存在：{configured}")
        return path
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise PdfError(
        "没有可用的中文字体，无法生成 PDF：请安装 fonts-wqy-zenhei"
        "（apt-get install fonts-wqy-zenhei），或设置 DUBAN_CJK_FONT 为 .ttf/.ttc 字体文件"
    )


def register() -> None:
    """Register the CJK font with reportlab once (PdfError when there is none)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    path = cjk_font_path()
    try:
        font = (
            TTFont(FONT, str(path), subfontIndex=0)
            if path.suffix == ".ttc"
            else TTFont(FONT, str(path))
        )
    except TTFError as exc:
        raise PdfError(f"字体文件无法读取：{path}（{exc}）") from exc
    pdfmetrics.registerFont(font)
