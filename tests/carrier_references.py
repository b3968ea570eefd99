"""Carrier layouts as the reference code writes and reads them, typed here independently of
``shipping.carrier_layouts`` so the tests compare Ichigen with the references, not with itself.

Sources (public production code):
- e飛伝III 74 columns: Welcart WCEX Sagawa Number 2.0.0 (Collne) ``outcsv_shipping`` $ldata keys.
- e飛伝II 42 columns: plugaid/PAEhidenUtills plg_PAEhidenUtills_CreateCSV.php ``$cols``.
- e飛伝II 出荷履歴 53 columns: jmleejake/csvProject NewSagawaVO.java (@CsvBindByPosition 0–52);
  PAEhidenUtills Admin_Order_Import reads [0] (送り状No) and [12] (お客様管理ナンバー).
- e飛伝III 出荷データ: WCEX Sagawa Number ``register_tracking_number`` reads [0], [2], [18].
- B2クラウド: labocho/yamato_b2_cloud record.rb ATTRIBUTE_NUMBERS (1-based column numbers from
  the official new_exchange1.pdf); skoji/stores-to-b2cloud src/main.js b2Headers.
- クリックポスト: YAJIMA/welcart_csv4clickpost ClickpostNumber.class.php.
- ゆうプリR 発送履歴: a 6-column export seen in public code (header row).
"""

from __future__ import annotations

import csv
import io

Z = "１２３４５６７８９"

EHIDEN3_HEADER = [
    "お届け先コード取得区分", "お届け先コード", "お届け先電話番号", "お届け先郵便番号",
    "お届け先住所１", "お届け先住所２", "お届け先住所３", "お届け先名称１", "お届け先名称２",
    "お客様管理番号", "お客様コード", "部署ご担当者コード取得区分", "部署ご担当者コード",
    "部署ご担当者名称", "荷送人電話番号", "ご依頼主コード取得区分", "ご依頼主コード",
    "ご依頼主電話番号", "ご依頼主郵便番号", "ご依頼主住所１", "ご依頼主住所２",
    "ご依頼主名称１", "ご依頼主名称２", "荷姿", "品名１", "品名２", "品名３", "品名４", "品名５",
    "荷札荷姿", *(f"荷札品名{d}" for d in Z), "荷札品名１０", "荷札品名１１",
    "出荷個数", "スピード指定", "クール便指定", "配達日", "配達指定時間帯", "配達指定時間（時分）",
    "代引金額", "消費税", "決済種別", "保険金額", "指定シール１", "指定シール２", "指定シール３",
    "営業所受取", "SRC区分", "営業所受取営業所コード", "元着区分", "メールアドレス", "ご不在時連絡先",
    "出荷日", "お問い合せ送り状No.", "出荷場印字区分", "集約解除指定",
    *(f"編集０{d}" for d in Z), "編集１０",
]  # fmt: skip

# PAEhidenUtills names the same 42 columns with ① and (スピードで選択); positions are what count.
EHIDEN2_POSITIONS = {
    "お届け先電話番号": 1, "お届け先郵便番号": 2, "お届け先住所1": 3, "お届け先住所2": 4,
    "お届け先住所3": 5, "お届け先名称1": 6, "お届け先名称2": 7, "お客様管理ナンバー": 8,
    "ご依頼主電話番号": 12, "ご依頼主郵便番号": 13, "ご依頼主住所1": 14, "ご依頼主住所2": 15,
    "ご依頼主名称1": 16, "品名1": 19, "配達日": 27, "配達指定時間帯": 28, "代引金額": 30,
    "指定シール1": 35, "元着区分": 41,
}  # fmt: skip

EHIDEN2_HISTORY_HEADER = [
    "お問合せ送り状No", "出荷日時", "住所録コード", "お届け先電話番号", "お届け先郵便番号",
    "お届け先住所１", "お届け先住所２", "お届け先住所３", "お届け先ＪＩＳコード", "お届け先名称１",
    "お届け先名称２", "グループ名", "お客様管理ナンバー", "お客様コード", "荷送人電話番号",
    "荷送人郵便番号", "荷送人住所１", "荷送人住所２", "荷送人名称１", "荷送人名称２", "部署・担当者",
    "ご依頼主コード", "ご依頼主電話番号", "ご依頼主郵便番号", "ご依頼主住所１", "ご依頼主住所２",
    "ご依頼主名称１", "ご依頼主名称２", "荷姿コード", "品名１", "品名２", "品名３", "品名４", "品名５",
    "出荷個数", "便種（スピードで選択）", "便種（商品）", "配達日", "配達指定時間帯",
    "配達指定時間（時分）", "代引金額", "消費税", "決済種別", "保険金額", "保険金額印字",
    "指定シール1", "指定シール2", "指定シール3", "営業店止め", "SRC区分", "営業店コード", "元着区分",
    "削除区分",
]  # fmt: skip

# labocho record.rb: 1-based column numbers in the B2 layout.
B2_NUMBERS = {
    "送り状種類": 2, "出荷予定日": 5, "配達時間帯": 7, "お届け先電話番号": 9, "お届け先郵便番号": 11,
    "お届け先住所": 12, "お届け先名": 16, "ご依頼主電話番号": 20, "ご依頼主郵便番号": 22,
    "品名１": 28, "コレクト代金引換額（税込）": 34, "コレクト内消費税額等": 35,
    "ご請求先顧客コード": 40, "運賃管理番号": 42,
}  # fmt: skip

CLICKPOST_HEADER = [
    "お届け先郵便番号", "お届け先氏名", "お届け先敬称", "お届け先住所1行目",
    "お届け先住所2行目", "お届け先住所3行目", "お届け先住所4行目", "内容品",
]  # fmt: skip

YUPRI_HISTORY_HEADER = [
    "お客様側管理番号", "お問い合わせ番号", "仮引受確定作業年月日", "配送完了作業年月日",
    "配達ステータス集約コード", "配達ステータス明細コード",
]  # fmt: skip


def csv_bytes(rows: list[list[str]], encoding: str = "cp932") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def row_with(width: int, cells: dict[int, str]) -> list[str]:
    row = [""] * width
    for index, value in cells.items():
        row[index] = value
    return row
