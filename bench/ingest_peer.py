"""Python peer of bench_ingest: the same workbook ingest with openpyxl + pandas.

Reads every date block of the SNIIM workbook, builds rows (date, state, city,
milk type, channel, price), normalises names and codes, treats 0 / blank /
N.d. as missing, and writes one file per month (CSV: Debian 12 has no pyarrow,
so pandas cannot write Parquet here).  Prints "ingest_seconds S".
usage: /usr/bin/python3 bench/ingest_peer.py WORKBOOK [REPEATS]
"""
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata

import openpyxl
import pandas as pd

MONTHS = {m: i + 1 for i, m in enumerate(
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split())}


def fold(s):
    s = unicodedata.normalize("NFKD", str(s)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[\s.]", "", s)


def parse_date(s):
    m = re.match(r"\s*(\d+)\s+de\s+(\w+)\s+de\s+(\d{4})", fold_keep_spaces(s))
    return pd.Timestamp(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))


def fold_keep_spaces(s):
    return unicodedata.normalize("NFKD", str(s)).encode("ascii", "ignore").decode().lower()


def read_workbook(path):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = []
    date = state = None
    header = None
    in_block = False
    for r in ws.iter_rows(values_only=True):
        a = r[0] if len(r) > 0 else None
        b = r[1] if len(r) > 1 else None
        if isinstance(a, str) and "precio promedio al consumidor" in fold_keep_spaces(a):
            date, state, header, in_block = None, None, None, False
            continue
        if date is None and isinstance(a, str) and " de " in a:
            date = parse_date(a)
            continue
        if isinstance(a, str) and a.strip() == "Estado":
            continue
        if r[2:6] and all(isinstance(x, str) for x in r[2:6]) and header is None:
            header = [("Pasteurizada", r[2]), ("Pasteurizada", r[3]),
                      ("Ultrapasteurizada", r[4]), ("Ultrapasteurizada", r[5])]
            in_block = True
            continue
        if isinstance(a, str) and a.startswith("Fuente"):
            in_block = False
            continue
        if not in_block or b is None:
            continue
        if a:
            state = a
        for (tipo, canal), v in zip(header, r[2:6]):
            rows.append((date, state if a or not str(b).startswith("Promedio") else "", b, tipo, canal, v))
    return pd.DataFrame(rows, columns=["Fecha", "Estado", "Ciudad", "Tipo", "Canal", "Precio"])


def normalise(df):
    df["Estado"] = df["Estado"].astype(str).str.strip().str.replace(r"\s+", " ", regex=True)
    df["Ciudad"] = (df["Ciudad"].astype(str).str.strip().str.replace(r"\s+", " ", regex=True)
                    .str.replace(r"^Cd\.(?=\S)", "Cd. ", regex=True))
    df["Tipo"] = df["Tipo"].str.lower()
    df["Canal"] = df["Canal"].str.strip().str.lower()
    df["Precio"] = pd.to_numeric(df["Precio"], errors="coerce")
    df.loc[df["Precio"] == 0, "Precio"] = float("nan")
    df = df.drop_duplicates(["Fecha", "Estado", "Ciudad", "Tipo", "Canal"])
    return df.sort_values(["Fecha", "Estado", "Ciudad", "Tipo", "Canal"])


def write_lake(df, root):
    for (y, m), part in df.groupby([df["Fecha"].dt.year, df["Fecha"].dt.month]):
        d = os.path.join(root, f"year={y}", f"month={m:02d}")
        os.makedirs(d, exist_ok=True)
        part.to_csv(os.path.join(d, "data.csv"), index=False)


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best, n = 1e9, 0
    # Like bench_ingest: under MC_BENCH_DIR the outputs stay for the caller to remove.
    keep = os.environ.get("MC_BENCH_DIR")
    for _ in range(repeats):
        root = tempfile.mkdtemp(dir=keep)
        t0 = time.perf_counter()
        df = normalise(read_workbook(path))
        write_lake(df, root)
        best = min(best, time.perf_counter() - t0)
        n = len(df)
        if not keep:
            shutil.rmtree(root)
    print(f"ingest_seconds {best:.4f} s (best of {repeats}, {n} rows)")


if __name__ == "__main__":
    main()
