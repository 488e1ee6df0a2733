#!/usr/bin/python3
"""Make the xlsx and SNIIM reader test fixtures in this directory.

Run from anywhere with /usr/bin/python3 (openpyxl); the outputs are committed so
the C unit tests need no Python.  Every archive is rewritten with fixed zip
timestamps and fixed document dates, so a re-run gives the same bytes.

  openpyxl-made:  basic.xlsx, date1904.xlsx, sniim_*.xlsx
  hand-made zips: handmade.xlsx (inline and rich strings, sparse rows, refs
                  left out, booleans, errors, prefixed XML, odd relationship
                  targets, a chart sheet) and bad_*.xlsx (hostile inputs)
"""
import datetime
import io
import os
import struct
import zipfile

import openpyxl
from openpyxl.styles import Alignment

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = (2025, 3, 31, 12, 0, 0)
FIXED_DATE = datetime.datetime(2025, 3, 31, 12, 0, 0)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
T_DOC = NS_REL + "/officeDocument"
T_SHEET = NS_REL + "/worksheet"
T_CHART = NS_REL + "/chartsheet"
T_SST = NS_REL + "/sharedStrings"


def out(name):
    return os.path.join(HERE, name)


def write_zip(name, parts, method=zipfile.ZIP_DEFLATED):
    """Write parts (list of (path, str|bytes)) as a zip with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in parts:
            info = zipfile.ZipInfo(path, FIXED_TIME)
            info.compress_type = method
            z.writestr(info, data.encode() if isinstance(data, str) else data)
    with open(out(name), "wb") as f:
        f.write(buf.getvalue())
    return buf.getvalue()


def normalize(name):
    """Rewrite an openpyxl output with fixed zip timestamps (same entries, same order)."""
    with zipfile.ZipFile(out(name)) as z:
        parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    write_zip(name, parts)


def save(wb, name):
    wb.properties.created = FIXED_DATE
    wb.properties.modified = FIXED_DATE
    wb.save(out(name))
    normalize(name)


# --- openpyxl workbooks -------------------------------------------------------


def make_basic():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Datos"
    ws["A1"] = "Texto"
    ws["B1"] = 42
    ws["C1"] = 3.5
    ws["D1"] = True
    ws["E1"] = datetime.date(2025, 3, 31)
    ws["F1"] = "=B1*2"  # a formula without a cached value: a blank cell
    ws["A2"] = "  espacios  "
    ws["B2"] = False
    ws["A3"] = "Ñandú ümlaut"
    ws["C3"] = -0.25
    ws["A5"] = "sparse"
    ws["D5"] = 1e-3
    ws["A7"] = "merged"
    ws.merge_cells("A7:C7")
    ws.merge_cells("E8:E10")
    ws["B9"] = "Texto"  # openpyxl 3.0 writes inline strings; handmade.xlsx has shared ones
    other = wb.create_sheet("Otra hoja")
    other["B2"] = "x"
    save(wb, "basic.xlsx")


def make_date1904():
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "Fechas"
    ws["A1"] = datetime.date(2025, 3, 31)
    ws["A2"] = datetime.date(1904, 1, 1)
    save(wb, "date1904.xlsx")


# --- SNIIM-layout workbooks ---------------------------------------------------

TITLE = "Precio promedio al consumidor por litro de leche pasteurizada y ultrapasteurizada"
FUENTE = ("Fuente: SNIIM, Secretaría de Economía, con información de la Red Nacional "
          "de Información e Integración de Mercados.")

# (state or None, city, four prices as written: float, str or None)
CITIES_1 = [
    ("Aguascalientes ", "Aguascalientes", [26.15, 26.92, 29.25, 32.58]),
    ("Baja California", "Mexicali", [27.3, 25.18, 24.5, 27.47]),
    (None, "Tijuana", ["N.d.", "N.d.", 31.62, 30.57]),
    ("Sonora", "San Luis Río Colorado", [0, 0, 0, 0]),
    ("Veracruz", "Veracruz ", [None, "23.85", 32.63, 31.5]),
    (None, "Promedio aritmético", [27.5, 27.549756097560978, 29.7, 31.4]),
    (None, "Promedio Ponderado por Población", [26.97, 27.29, 28.86, 30.75]),
]
CITIES_2 = [
    ("Aguascalientes ", "Aguascalientes", [26.0, 26.5, 29.0, 32.0]),
    (None, "Cd.Juárez", [29.8, 27.34, "N.D.", 33.73]),
    (None, "Promedio aritmético", [27.9, 26.92, 29.0, 32.86]),
    (None, "Promedio Ponderado por Población", [27.8, 26.9, 29.1, 32.8]),
]


def write_block(ws, row, date_text, cities, types=("pasteurizada", "ultrapasteurizada"),
                channels=("Tiendas", "Autoservicios"), blank_after_date=False,
                header=None, price_override=None):
    """Write one SNIIM date block from `row`; returns the row after it."""
    ws.cell(row, 1, TITLE)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
    ws.cell(row + 1, 1, date_text)
    ws.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=6)
    r = row + 2 + (1 if blank_after_date else 0)
    heads = header or ["Estado", "Ciudad", "Leche " + types[0], None, "Leche " + types[1], None]
    for col, text in enumerate(heads, 1):
        if text is not None:
            ws.cell(r, col, text)
    ws.merge_cells(start_row=r, start_column=3, end_row=r, end_column=4)
    ws.merge_cells(start_row=r, start_column=5, end_row=r, end_column=6)
    ws.merge_cells(start_row=r, start_column=1, end_row=r + 1, end_column=1)
    ws.merge_cells(start_row=r, start_column=2, end_row=r + 1, end_column=2)
    for col, text in enumerate(channels * 2, 3):
        ws.cell(r + 1, col, text).alignment = Alignment(horizontal="center")
    r += 2
    for state, city, prices in cities:
        if state is not None:
            ws.cell(r, 1, state)
        ws.cell(r, 2, city)
        for col, p in enumerate(prices, 3):
            if price_override and (r, col) == price_override[0]:
                p = price_override[1]
            if p is not None:
                ws.cell(r, col, p)
        r += 1
    ws.cell(r, 1, FUENTE)
    return r + 2


def sniim_book(name, first_date="31 de marzo de 2025", header=None, price_override=None,
               channels=("Tiendas", "Autoservicios")):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Hoja1"
    r = write_block(ws, 1, first_date, CITIES_1, header=header, price_override=price_override,
                    channels=channels)
    # Second block: the milk types in the other order and the channels swapped,
    # an extra blank row after the date, and a date with odd spacing and case.
    write_block(ws, r, "  28 de Marzo de  2025 ", CITIES_2,
                types=("ultrapasteurizada", "pasteurizada"),
                channels=("Autoservicios", "Tiendas"), blank_after_date=True)
    save(wb, name)


def make_sniim():
    sniim_book("sniim_small.xlsx")
    sniim_book("sniim_bad_date.xlsx", first_date="foo")
    sniim_book("sniim_bad_header.xlsx",
               header=["Estado", "Ciudad", "Leche entera", None, "Leche ultrapasteurizada", None])
    sniim_book("sniim_bad_price.xlsx", price_override=((6, 4), "abc"))
    sniim_book("sniim_bad_channels.xlsx", channels=("Tiendas", "Tiendas"))
    # No block anywhere: two sheets of notes.
    wb = openpyxl.Workbook()
    wb.active.title = "Hoja1"
    wb.active["A1"] = "Precios de la leche"
    wb.create_sheet("Notas")["B2"] = "sin datos"
    save(wb, "sniim_no_blocks.xlsx")
    # The blocks on the second sheet.
    wb = openpyxl.Workbook()
    wb.active.title = "Portada"
    wb.active["A1"] = "Leche: precios al consumidor"
    ws = wb.create_sheet("Leche")
    write_block(ws, 3, "31 de marzo de 2025", CITIES_1)
    save(wb, "sniim_second_sheet.xlsx")


# --- hand-made packages -------------------------------------------------------


def content_types(sheets):
    over = "".join(
        f'<Override PartName="/{p}" ContentType="application/vnd.openxmlformats-officedocument.'
        f'spreadsheetml.worksheet+xml"/>' for p in sheets)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'{over}</Types>')


def rels(items):
    body = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>'
                   for i, t, target in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{NS_PKG}">{body}</Relationships>'


def workbook(sheets, extra="", prefix=""):
    p = prefix + ":" if prefix else ""
    decl = f'xmlns:{prefix}="{NS_MAIN}"' if prefix else f'xmlns="{NS_MAIN}"'
    body = "".join(f'<{p}sheet name="{n}" sheetId="{k + 1}" r:id="{rid}"/>'
                   for k, (n, rid) in enumerate(sheets))
    return (f'<?xml version="1.0" encoding="UTF-8"?><{p}workbook {decl} xmlns:r="{NS_REL}">'
            f'{extra}<{p}sheets>{body}</{p}sheets></{p}workbook>')


def worksheet(rows_xml, after=""):
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS_MAIN}">'
            f'<sheetData>{rows_xml}</sheetData>{after}</worksheet>')


def package(sheets, sst=None, extra_parts=(), workbook_xml=None):
    """A minimal valid package: sheets is a list of (name, xml)."""
    parts = [("[Content_Types].xml", content_types([f"xl/worksheets/sheet{k + 1}.xml"
                                                    for k in range(len(sheets))])),
             ("_rels/.rels", rels([("rId1", T_DOC, "xl/workbook.xml")]))]
    items = [(f"rId{k + 1}", T_SHEET, f"worksheets/sheet{k + 1}.xml") for k in range(len(sheets))]
    if sst is not None:
        items.append(("rIdS", T_SST, "sharedStrings.xml"))
    parts.append(("xl/_rels/workbook.xml.rels", rels(items)))
    parts.append(("xl/workbook.xml", workbook_xml or workbook(
        [(n, f"rId{k + 1}") for k, (n, _) in enumerate(sheets)])))
    for k, (_, xml) in enumerate(sheets):
        parts.append((f"xl/worksheets/sheet{k + 1}.xml", xml))
    if sst is not None:
        parts.append(("xl/sharedStrings.xml", sst))
    return parts + list(extra_parts)


SST = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS_MAIN}" count="6" uniqueCount="6">'
       '<si><t>plain</t></si>'
       '<si><r><rPr><b/></rPr><t>Ri</t></r><r><t xml:space="preserve">ch </t></r>'
       '<r><t>text</t></r><rPh sb="0" eb="1"><t>IGNORED</t></rPh><phoneticPr fontId="1"/></si>'
       '<si><t>line_x000D__x000A_break_x005F_x0041_</t></si>'
       '<si/>'
       '<si><t/></si>'
       '<si><t xml:space="preserve">  Veracruz  </t></si>'
       '</sst>')


def make_handmade():
    inline = worksheet(
        # Elements under a prefix, as some writers emit them.
        '<x:row xmlns:x="' + NS_MAIN + '" r="1">'
        '<x:c r="A1" t="inlineStr"><x:is><x:t>prefixed</x:t></x:is></x:c></x:row>'
        '<row r="2">'
        '<c r="A2" t="inlineStr"><is><r><t>rich </t></r><r><rPr/><t>inline</t></r>'
        '<rPh><t>NO</t></rPh></is></c>'
        '<c r="B2" t="str"><f>CONCAT("a","b")</f><v>ab</v></c>'
        '<c r="C2" t="b"><v>1</v></c>'
        '<c r="D2" t="b"><v>0</v></c>'
        '<c r="E2" t="e"><v>#N/A</v></c>'
        '<c r="F2"><v>1E-3</v></c>'
        '<c r="G2" t="n"><v>-12.5</v></c>'
        '<c r="H2" s="3"/>'
        '<c r="I2" t="s"><v>1</v></c>'
        '<c r="J2" t="s"><v>2</v></c>'
        '<c r="K2" t="s"><v>3</v></c>'
        '<c r="L2" t="s"><v>5</v></c>'
        '<c r="M2" t="inlineStr"><is><t><![CDATA[<cdata & more>]]></t></is></c>'
        '<c r="N2" t="inlineStr"><is><t>A &amp; B &#233;&#x20AC;</t></is></c>'
        '</row>')
    sparse = worksheet(
        '<row><c><v>1</v></c><c><v>2</v></c></row>'          # row 1: A1, B1
        '<row r="5"><c r="C5"><v>3</v></c><c><v>4</v></c></row>'  # C5, then D5
        '<row r="7"/>'                                        # present but empty
        '<row><c r="XFD8" t="inlineStr"><is><t>last column</t></is></c></row>'  # row 8
        '<row r="1048576"><c r="A1048576"><v>9</v></c></row>')
    third = worksheet('<row r="2"><c r="B2" t="s"><v>0</v></c></row>',
                      '<mergeCells count="2"><mergeCell ref="A1:C1"/>'
                      '<mergeCell ref="B2:B4"/></mergeCells>')
    parts = [
        ("[Content_Types].xml", content_types(["xl/worksheets/sheet1.xml"])),
        # Absolute target for the main part.
        ("_rels/.rels", rels([("rId1", T_DOC, "/xl/workbook.xml")])),
        ("xl/_rels/workbook.xml.rels", rels([
            ("rId1", T_SHEET, "worksheets/sheet1.xml"),       # relative
            ("rId2", T_SHEET, "/xl/worksheets/sheet2.xml"),   # absolute
            ("rId3", T_SHEET, "../xl/other/s%203.xml"),        # dot-dot and %20
            ("rId4", T_CHART, "chartsheets/sheet1.xml"),
            ("rId5", T_SST, "sharedStrings.xml")])),
        ("xl/workbook.xml", workbook([("Inline", "rId1"), ("Sparse", "rId2"),
                                      ("Sub dir", "rId3"), ("Gráfico", "rId4")],
                                     extra='<x:workbookPr/>', prefix="x")),
        ("xl/sharedStrings.xml", SST),
        ("xl/worksheets/sheet1.xml", inline),
        ("xl/worksheets/sheet2.xml", sparse),
        ("xl/other/s 3.xml", third),
        ("xl/chartsheets/sheet1.xml", f'<chartsheet xmlns="{NS_MAIN}"/>'),
    ]
    write_zip("handmade.xlsx", parts)


def patch_sizes(data, member, size):
    """Rewrite the uncompressed size of `member` in its local and central headers."""
    data = bytearray(data)
    name = member.encode()
    pos = 0
    while True:
        pos = data.find(b"PK\x03\x04", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 26)[0]
        if data[pos + 30:pos + 30 + n] == name:
            struct.pack_into("<I", data, pos + 22, size)
        pos += 4
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + n] == name:
            struct.pack_into("<I", data, pos + 24, size)
        pos += 4
    return bytes(data)


def one_cell_sheet(cell_xml):
    return worksheet(f'<row r="1">{cell_xml}</row>')


def make_bad():
    with open(out("bad_notzip.xlsx"), "w") as f:
        f.write("this is not a zip file\n")
    open(out("bad_empty.xlsx"), "wb").close()
    with open(out("bad_ole.xlsx"), "wb") as f:
        f.write(bytes([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) + bytes(504))
    write_zip("bad_no_workbook.xlsx", [("[Content_Types].xml", content_types([])),
                                       ("docProps/app.xml", "<Properties/>")])
    parts = package([("Hoja1", one_cell_sheet('<c r="A1"><v>1</v></c>'))])
    write_zip("bad_missing_sheet.xlsx", [p for p in parts if p[0] != "xl/worksheets/sheet1.xml"])
    write_zip("bad_xml.xlsx", package([("Hoja1", worksheet(
        '<row r="1"><c r="A1"><v>1</v></c></row>\n<row r="2"><c r="A2"><v>2</v></row>'))]))
    write_zip("bad_workbook_xml.xlsx", package(
        [("Hoja1", one_cell_sheet('<c r="A1"><v>1</v></c>'))],
        workbook_xml='<workbook xmlns="' + NS_MAIN + '"><sheets>\n<sheet name="a"</workbook>'))
    write_zip("bad_sst_xml.xlsx", package(
        [("Hoja1", one_cell_sheet('<c r="A1" t="s"><v>0</v></c>'))],
        sst=f'<sst xmlns="{NS_MAIN}"><si><t>a</si></sst>'))
    # One sheet per malformed cell, all in one workbook.
    cases = [
        ("sst", '<c r="A1" t="s"><v>2</v></c>'),
        ("col", '<c r="XFE1"><v>1</v></c>'),
        ("row", None),
        ("order", '<c r="B1"><v>1</v></c><c r="A1"><v>2</v></c>'),
        ("other row", '<c r="A2"><v>1</v></c>'),
        ("number", '<c r="C1"><v>abc</v></c>'),
        ("bool", '<c r="A1" t="b"><v>2</v></c>'),
        ("type", '<c r="A1" t="zz"><v>1</v></c>'),
        ("huge", '<c r="A1" t="inlineStr"><is><t>' + "a" * (2 << 20) + "</t></is></c>"),
        ("rows", None),
    ]
    sheets = []
    for name, cell in cases:
        if name == "row":
            xml = worksheet('<row r="1048577"><c r="A1048577"><v>1</v></c></row>')
        elif name == "rows":
            xml = worksheet('<row r="3"/><row r="2"/>')
        else:
            xml = one_cell_sheet(cell)
        sheets.append((name, xml))
    sst = f'<sst xmlns="{NS_MAIN}"><si><t>zero</t></si><si><t>one</t></si></sst>'
    write_zip("bad_cells.xlsx", package(sheets, sst=sst))
    # Declared size over 256 MiB (a zip bomb's signature), tiny real content.
    data = write_zip("bad_bomb.xlsx", package([("Hoja1", one_cell_sheet('<c r="A1"><v>1</v></c>'))]))
    with open(out("bad_bomb.xlsx"), "wb") as f:
        f.write(patch_sizes(data, "xl/worksheets/sheet1.xml", 300 << 20))
    # Declared size 100 bytes, real size ~130 KB: caught while inflating (tests lower the cap).
    rows = "<row><c><v>1</v></c></row>" * 5000
    data = write_zip("bad_liar.xlsx", package([("Hoja1", worksheet(rows))]))
    with open(out("bad_liar.xlsx"), "wb") as f:
        f.write(patch_sizes(data, "xl/worksheets/sheet1.xml", 100))
    # Entity expansion ("billion laughs") behind a DOCTYPE.
    lol = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
           + "".join(f'<!ENTITY {chr(98 + k)} "' + f"&{chr(97 + k)};" * 10 + '">'
                     for k in range(8))
           + f']><worksheet xmlns="{NS_MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
           '<is><t>&i;</t></is></c></row></sheetData></worksheet>')
    write_zip("bad_doctype.xlsx", package([("Hoja1", lol)]))
    # A stored (uncompressed) sheet with one byte flipped: CRC error on read.
    data = write_zip("bad_crc.xlsx", package([("Hoja1", one_cell_sheet('<c r="A1"><v>12345</v></c>'))]),
                     method=zipfile.ZIP_STORED)
    i = data.find(b"12345")
    with open(out("bad_crc.xlsx"), "wb") as f:
        f.write(data[:i] + b"9" + data[i + 1:])


def main():
    make_basic()
    make_date1904()
    make_sniim()
    make_handmade()
    make_bad()
    print("fixtures written to", HERE)


if __name__ == "__main__":
    main()
