"""The README's sheet table, checked against the workbook contract (as datasette checks its
docs against its code): a tab added without a line for staff fails here."""

from __future__ import annotations

from settings import PROJECT_ROOT
from sheets_schema.tabs import TABS


def test_the_readme_sheet_table_names_every_tab_of_the_contract() -> None:
    """The sheet table at the top of the README (「シート | 内容 | 編集するのは」) names every
    tab staff may meet, so a tab added to the contract without a line there fails here."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| シート | 内容 | 編集するのは |", 1)[1].split("\n\n", 1)[0]
    listed = {name.strip() for line in table.splitlines()[2:] for name in line.split("|")[1].split("・")}
    assert [spec.title for spec in TABS if spec.title not in listed] == []
