"""Command-line usage and errors in Japanese: argparse's own words are English (its gettext
catalogue has no Japanese), so the parser used by ``python -m sync`` and
``python -m sheets_schema`` rewords them."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

# argparse's error messages (Python 3.11–3.13), as regular expressions, in staff's words.
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^the following arguments are required: (.+)$"), r"次の引数が必要です: \1"),
    (re.compile(r"^unrecognized arguments: (.+)$"), r"知らない引数です: \1"),
    (
        re.compile(r"^argument (\S+): invalid choice: (.+?) \(choose from (.+)\)$"),
        r"\1 に \2 は使えません（使えるのは \3）",
    ),
    (
        re.compile(r"^argument (\S+): invalid (\w+) value: (.+)$"),
        r"\1 の値 \3 は正しくありません（\2 の形で）",
    ),
    (re.compile(r"^argument (\S+): expected one argument$"), r"\1 の後に値が1つ必要です"),
    (re.compile(r"^argument (\S+): expected at least one argument$"), r"\1 の後に値が1つ以上必要です"),
    (re.compile(r"^argument (\S+): ignored explicit argument (.+)$"), r"\1 は値 \2 を取りません"),
    (re.compile(r"^argument (\S+): not allowed with argument (.+)$"), r"\1 と \2 は同時に使えません"),
    (re.compile(r"^ambiguous option: (\S+) could match (.+)$"), r"\1 があいまいです（候補: \2）"),
    (re.compile(r"^one of the arguments (.+) is required$"), r"次のどれかが必要です: \1"),
]
_TYPES = {"float": "数値", "int": "整数"}


def japanese_error(message: str) -> str:
    for pattern, replacement in _ERRORS:
        if pattern.match(message):
            translated = pattern.sub(replacement, message)
            for english, japanese in _TYPES.items():
                translated = translated.replace(f"（{english} の形で）", f"（{japanese}で書いてください）")
            return translated
    return message


class JapaneseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage, help headings and errors are Japanese. Subcommand
    parsers made with ``add_subparsers`` are of this class too (argparse uses type(self))."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["add_help"] = False  # replaced by the Japanese -h below
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._positionals.title = "引数"
        self._optionals.title = "オプション"
        self.add_argument("-h", "--help", action="help", help="この説明を表示して終わる")

    def add_subparsers(self, **kwargs: object) -> argparse._SubParsersAction:  # type: ignore[override]
        kwargs.setdefault("title", "コマンド")
        kwargs.setdefault("metavar", "コマンド")
        return super().add_subparsers(**kwargs)  # type: ignore[arg-type]

    def format_usage(self) -> str:
        return _japanese_usage(super().format_usage())

    def format_help(self) -> str:
        return _japanese_usage(super().format_help())

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: エラー: {japanese_error(message)}\n")


def _japanese_usage(text: str) -> str:
    return re.sub(r"^usage: ", "使い方: ", text)
