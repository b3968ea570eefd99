"""Shop-level views over the workbook: pure functions of parsed tables, no I/O."""
