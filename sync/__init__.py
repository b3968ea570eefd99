"""Sync: orders in from every mall, stock through the ledger, available stock out to every mall.

Plain Python over the connector interface (``sync.connectors.base``) and the ``Workbook`` port;
no Streamlit imports here, so the CLI, the app and the tests run the same engine.
"""
