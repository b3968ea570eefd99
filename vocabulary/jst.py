"""Japan time: every time Ichigen stores or shows is in JST."""

from __future__ import annotations

from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
