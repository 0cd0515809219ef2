"""Reading files as people have them: encodings, delimiters, layouts, XLSX and ODS."""

import codecs
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from campagne.imports.readers import UnreadableFile, open_table
from tests.imports.conftest import csv_bytes

ROWS = [
    ["Éloïse", "Müller-Lefèvre", "eloise@example.org", "06 12 34 56 78", "4000", "Digne"],
    ["François", "Çelik", "f@example.org", "+33 6 11 22 33 44", "05000", "Gap"],
]


def rows_of(path: Path) -> list[list[str]]:
    return [cells for _line, cells in open_table(path).rows()]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ],
)
def test_encodings_are_sniffed(tmp_path, encoding, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes(ROWS, encoding=encoding))
    table = open_table(path)
    assert table.encoding == expected
    assert table.headers[0] == "Prénom"  # No BOM left in the first header.
    assert rows_of(path) == ROWS


def test_latin1_when_cp1252_cannot_decode(tmp_path):
    # 0x81 is undefined in cp1252: only latin-1 reads it.
    path = tmp_path / "f.csv"
    path.write_bytes(b"Nom;Courriel\nRen\xe9\x81;r@example.org\n")
    table = open_table(path)
    assert table.encoding == "latin-1"
    assert rows_of(path) == [["René\x81", "r@example.org"]]


def test_a_cp1252_character_far_down_an_ascii_file_is_found(tmp_path):
    """The whole file is checked, not only its beginning."""
    rows = [[f"nom{n}", f"n{n}@example.org"] for n in range(60_000)] + [["Gérard", "g@example.org"]]
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes(rows, encoding="cp1252", header=["Nom", "Courriel"]))
    table = open_table(path)
    assert table.encoding == "cp1252"
    assert list(table.rows())[-1][1] == ["Gérard", "g@example.org"]


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    path = tmp_path / "f.csv"
    rows = [["Jean, dit « Jeannot »", "Martin", "j@example.org", "0612345678", "04000", "Digne"]]
    path.write_bytes(csv_bytes(rows, delimiter=delimiter))
    table = open_table(path)
    assert table.delimiter == delimiter
    assert rows_of(path) == rows


def test_quoted_fields_with_line_breaks_keep_their_line_numbers(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(
        b'Nom;Adresse;Courriel\nMartin;"12 rue Haute\nB\xc3\xa2timent B";m@example.org\n'
        b"Durand;3 place Basse;d@example.org\n"
    )
    found = list(open_table(path).rows())
    assert found == [
        (2, ["Martin", "12 rue Haute\nBâtiment B", "m@example.org"]),
        (4, ["Durand", "3 place Basse", "d@example.org"]),
    ]


def test_trailing_empty_columns_and_empty_lines_are_dropped(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"Nom;Courriel;;;\nMartin;m@example.org;;;\n;;;;\n\nDurand;d@example.org\n")
    table = open_table(path)
    assert table.headers == ["Nom", "Courriel"]
    assert rows_of(path) == [["Martin", "m@example.org"], ["Durand", "d@example.org"]]


def test_a_column_with_data_but_no_header_gets_a_name(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"Nom;Courriel;\nMartin;m@example.org;VIP\n")
    assert open_table(path).headers == ["Nom", "Courriel", "Colonne 3"]


@pytest.mark.parametrize("header", ["", "Unnamed: 0"])
@pytest.mark.parametrize("start", [0, 1])
def test_a_spreadsheet_index_column_is_dropped(tmp_path, header, start):
    path = tmp_path / "f.csv"
    lines = [f"{header},Nom,Courriel"] + [f"{start + n},Nom{n},n{n}@example.org" for n in range(5)]
    path.write_text("\n".join(lines) + "\n")
    table = open_table(path)
    assert table.drop_index_column
    assert table.headers == ["Nom", "Courriel"]
    assert rows_of(path)[0] == ["Nom0", "n0@example.org"]


def test_a_first_column_of_real_data_is_not_taken_for_an_index(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("Code postal,Nom\n04000,Martin\n05000,Durand\n")
    assert not open_table(path).drop_index_column


def test_a_title_line_above_the_header_is_skipped(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("Export du 12 mars\nNom;Courriel\nMartin;m@example.org\n")
    table = open_table(path)
    assert table.headers == ["Nom", "Courriel"]
    assert rows_of(path) == [["Martin", "m@example.org"]]


def test_rows_resume_from_an_offset(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([[f"n{i}"] * 6 for i in range(10)]))
    assert [cells[0] for _l, cells in open_table(path).rows(start=7)] == ["n7", "n8", "n9"]


def test_xlsx_cells_come_back_as_typed_text(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Prénom", "Nom", "Code postal", "Téléphone", "Naissance", "Note"])
    sheet.append(["Jean", "Martin", 4000, 612345678, datetime(1975, 3, 12), 4.5])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Léa", "Durand", 5000.0, "06 11 22 33 44", "1980", None])
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    table = open_table(path)
    assert table.format == "xlsx"
    assert rows_of(path) == [
        ["Jean", "Martin", "4000", "612345678", "1975-03-12", "4.5"],
        ["Léa", "Durand", "5000", "06 11 22 33 44", "1980", ""],
    ]


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet>
<table:table table:name="Feuille1">
<table:table-row>
 <table:table-cell office:value-type="string"><text:p>Prénom</text:p></table:table-cell>
 <table:table-cell office:value-type="string"><text:p>Nom</text:p></table:table-cell>
 <table:table-cell office:value-type="string"><text:p>CP</text:p></table:table-cell>
</table:table-row>
<table:table-row>
 <table:table-cell office:value-type="string"><text:p>Jean</text:p></table:table-cell>
 <table:table-cell office:value-type="string"><text:p>Martin</text:p>
  <text:p>dit Jeannot</text:p></table:table-cell>
 <table:table-cell office:value-type="float" office:value="4000">
  <text:p>4000</text:p></table:table-cell>
</table:table-row>
<table:table-row table:number-rows-repeated="2">
 <table:table-cell table:number-columns-repeated="2" office:value-type="string">
  <text:p>x</text:p></table:table-cell>
 <table:table-cell/>
</table:table-row>
<table:table-row table:number-rows-repeated="1048570">
 <table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table>
<table:table table:name="Feuille2"><table:table-row>
 <table:table-cell><text:p>autre</text:p></table:table-cell></table:table-row></table:table>
</office:spreadsheet></office:body></office:document-content>"""


def test_ods_is_read_with_repeated_cells_and_rows(tmp_path):
    path = tmp_path / "f.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", ODS_CONTENT)
    table = open_table(path)
    assert table.format == "ods"
    assert table.headers == ["Prénom", "Nom", "CP"]
    assert list(table.rows()) == [
        (2, ["Jean", "Martin\ndit Jeannot", "4000"]),
        (3, ["x", "x", ""]),
        (4, ["x", "x", ""]),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "XLS"),
        (b"\x00\x01\x02binary\x00", "binaire"),
        (b"PK\x03\x04not really a zip", "endommagée"),
    ],
)
def test_unreadable_files_say_why(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        open_table(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(UnreadableFile, match="introuvable"):
        open_table(tmp_path / "absent.csv")


def test_utf16_bom_is_detected_as_such(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(
        codecs.BOM_UTF16_LE + "Nom\tCourriel\nMartin\tm@example.org\n".encode("utf-16-le")
    )
    table = open_table(path)
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert rows_of(path) == [["Martin", "m@example.org"]]
