"""Shipping work: picking lists and 納品書, carrier label files, tracking numbers back, mails."""
