#!/usr/bin/python3
"""Write a large Excel-style workbook (shared strings, styles, x14ac attributes) for benchmarks.

  make_big_sst.py OUT.xlsx [ROWS]

Not a test fixture (nothing commits its output): bench_xlsxdump --cells times reading it,
fast path against libxml2 (--slow).  ROWS rows (default 200000) of six cells: three shared
strings drawn from ROWS/2 distinct ones, a number, a date serial and a boolean, laid out the
way Excel writes them, so the shared-strings part and the sheet both weigh several MB.
"""
import random
import sys
import zipfile

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NSR = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def shared_strings(n):
    items = []
    for i in range(n):
        if i % 10 == 0:  # some rich runs, as Excel writes formatted text
            items.append(f'<si><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">Item {i} </t>'
                         f'</r><r><t>&amp; más</t></r></si>')
        else:
            items.append(f"<si><t>Producto número {i}</t></si>")
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="{NS}" '
            f'count="{n * 3}" uniqueCount="{n}">' + "".join(items) + "</sst>")


def sheet(rows, nstrings):
    rnd = random.Random(31)
    out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet xmlns="{NS}" '
           f'xmlns:r="{NSR}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
           'mc:Ignorable="x14ac" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/'
           f'2009/9/ac"><dimension ref="A1:F{rows}"/><sheetData>']
    for r in range(1, rows + 1):
        a, b, c = (rnd.randrange(nstrings) for _ in range(3))
        out.append(f'<row r="{r}" spans="1:6" x14ac:dyDescent="0.25"><c r="A{r}" t="s"><v>{a}</v></c>'
                   f'<c r="B{r}" t="s"><v>{b}</v></c><c r="C{r}" s="1" t="s"><v>{c}</v></c>'
                   f'<c r="D{r}" s="2"><v>{rnd.randrange(100000) / 100}</v></c>'
                   f'<c r="E{r}" s="3"><v>{45000 + r % 3000}</v></c>'
                   f'<c r="F{r}" t="b"><v>{r % 2}</v></c></row>')
    out.append('</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
               'header="0.3" footer="0.3"/></worksheet>')
    return "".join(out)


def main():
    path = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    nstrings = max(rows // 2, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("_rels/.rels", f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                   f'Type="{NSR}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{NS}" xmlns:r="{NSR}"><sheets><sheet '
                   'name="Datos" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG}"><Relationship '
                   f'Id="rId1" Type="{NSR}/worksheet" Target="worksheets/sheet1.xml"/>'
                   f'<Relationship Id="rId2" Type="{NSR}/sharedStrings" '
                   'Target="sharedStrings.xml"/></Relationships>')
        z.writestr("xl/sharedStrings.xml", shared_strings(nstrings))
        z.writestr("xl/worksheets/sheet1.xml", sheet(rows, nstrings))


if __name__ == "__main__":
    main()
