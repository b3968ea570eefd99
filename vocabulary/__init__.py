"""Ichigen's shared vocabulary: what an order status, a stock movement, a carrier, Japan time,
staff text and a retry policy are. Both the workbook layer (``sheets_schema``) and the mall
connectors (``sync``) import it; it imports nothing of theirs, so a connector can be read,
tested and reused without the workbook."""
