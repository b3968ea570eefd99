"""The workbook's contract: tabs, row models, parsing, and the Workbook port with its adapters."""
