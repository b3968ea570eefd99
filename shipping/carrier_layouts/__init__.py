"""Every carrier file Ichigen writes or reads, as data: one module per carrier's software, each
with its sources and ⚠ where no source confirms a fact.

- ``schema``: ``Layout``, ``Column``, ``Field``, ``CodeTable``, ``TrackingFormat``; CP932 + CRLF.
- ``yamato_b2``: ヤマト B2クラウド 外部データ取込 (97 columns) and its 発行済データ export.
- ``sagawa_ehiden``: 佐川 e飛伝II (42) / e飛伝III (74) and their 出荷履歴 / 出荷データ exports.
- ``yupri_r``: 日本郵便 ゆうプリR standard layout (118 columns) and its 発送履歴 export.
- ``clickpost``: 日本郵便 クリックポスト まとめ申込.

``shipping/carrier_files.py`` writes the label files, ``shipping/tracking_import.py`` reads the
exports back; neither holds a carrier fact.
"""

from __future__ import annotations

from shipping.carrier_layouts import sagawa_ehiden, yamato_b2, yupri_r
from shipping.carrier_layouts.clickpost import CLICKPOST
from shipping.carrier_layouts.sagawa_ehiden import EHIDEN2, EHIDEN3
from shipping.carrier_layouts.schema import Layout, TrackingFormat
from shipping.carrier_layouts.yamato_b2 import B2
from shipping.carrier_layouts.yupri_r import YUPRI

# The label files, in the order staff choose from.
LAYOUTS: dict[str, Layout] = {x.key: x for x in (B2, EHIDEN2, EHIDEN3, YUPRI, CLICKPOST)}

# A file the shop writes itself: 「注文番号,追跡番号」 (or 「モール:注文番号,追跡番号」), any carrier.
SIMPLE = TrackingFormat("simple", "注文番号,追跡番号 の2列ファイル", None, 0, 1, width=2)

# Checked in this order: a header row decides by its names (the first format whose key and
# tracking names are both in it); a file without one goes to the positional layout whose key
# column matches the most orders (the formats' columns differ: 1, 13, 19).

# The tracking files read back, by key.
TRACKING_FORMATS: dict[str, TrackingFormat] = {
    x.key: x
    for x in (
        yamato_b2.ISSUED,
        sagawa_ehiden.HISTORY,
        sagawa_ehiden.EXPORT_III,
        yupri_r.HISTORY,
        SIMPLE,
    )
}

__all__ = [
    "B2",
    "CLICKPOST",
    "EHIDEN2",
    "EHIDEN3",
    "LAYOUTS",
    "SIMPLE",
    "TRACKING_FORMATS",
    "YUPRI",
    "Layout",
    "TrackingFormat",
]
