"""The app's few style rules: Japanese words for the parts of Streamlit's widgets that have no
parameter for them, and room for the work on a 768 px laptop screen.

Streamlit leaves 6rem above each page's title (room for its toolbar); on a 1366×768 laptop
that is an eighth of the screen before any order is shown. 2.5rem keeps the toolbar clear.

``st.file_uploader`` draws an English button ("Upload") and an English limit line ("200MB per
file • CSV, TXT") and Streamlit 1.67 has no option or translation catalogue for either. A
style sheet hides those two texts (font-size 0, so the layout and the button's accessible
role stay) and draws Japanese in their place with ``::after``. The file types are in each
uploader's own label, so the limit line says only the size.
"""

from __future__ import annotations

import streamlit as st

_UPLOADER = '[data-testid="stFileUploaderDropzone"]'


def uploader_css(max_upload_mb: int) -> str:
    return f"""<style>
{_UPLOADER} button [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}
{_UPLOADER} button [data-testid="stMarkdownContainer"] p::after {{
  content: "ファイルを選ぶ"; font-size: 0.875rem;
}}
{_UPLOADER} [data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
{_UPLOADER} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{
  content: "ここにドラッグ＆ドロップもできます（1ファイル {max_upload_mb}MB まで）"; font-size: 0.875rem;
}}
</style>"""


ROOM = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
</style>"""


def apply() -> None:
    """Once per run, from the router: every page's uploaders speak Japanese, pages start higher."""
    st.html(uploader_css(int(st.get_option("server.maxUploadSize"))) + ROOM)
