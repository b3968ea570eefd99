"""How the board reads and writes the free-text cells of 受注: the 要確認 notes the sync engine
joins with one separator (a status conflict among them), and the 【保留】 entries a hold
appends to 備考. Bulk change, detail and the 要確認 queue all follow these conventions."""

from __future__ import annotations

import re

# A joined review text (要確認) uses this separator, as the sync engine writes it.
REVIEW_SEPARATOR = "／"
# How a review note about a status conflict begins (a person's status change settles it).
STATUS_CONFLICT_PREFIX = "モールのステータスが"
HOLD_TAG = "【保留】"
# 「【保留】理由 (YYYY-MM-DD HH:MM)」, as change_status appends it to 備考.
HOLD_NOTE = re.compile(r"【保留】(.*?) \((\d{4}-\d{2}-\d{2} \d{2}:\d{2})\)")
