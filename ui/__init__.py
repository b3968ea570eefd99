"""Streamlit glue shared by the pages: settings, the workbook, cached reads, the sidebar."""
