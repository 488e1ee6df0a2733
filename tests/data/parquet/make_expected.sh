#!/usr/bin/env bash
# Regenerate tests/data/parquet/sniim_expected.tsv from data/sniim/*.parquet
# with DuckDB (the oracle), for tests/unit/test_parquet_read.c.  Lines:
#   F file rows null_precio zero_precio sum_precio min_fecha_ns max_fecha_ns distinct_ciudad
#   R file row fecha_ns Estado Ciudad Tipo Canal Precio      (\N = null)
# Doubles are printed with %.17g so they parse back exactly.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=tests/data/parquet/sniim_expected.tsv
duck() { node tests/oracle/duck.mjs "$1" | node -e '
	const rl = require("readline").createInterface({input: process.stdin});
	rl.on("line", l => console.log(JSON.parse(l).line));'; }
: >"$out.tmp"
for f in data/sniim/*.parquet; do
	name=$(basename "$f")
	duck "select concat_ws(chr(9), 'F', '$name', count(*), count(*) - count(Precio),
		count(*) filter (where Precio = 0), printf('%.17g', sum(Precio)),
		epoch_ns(min(Fecha)), epoch_ns(max(Fecha)), count(distinct Ciudad)) as line
		from read_parquet('$f')" >>"$out.tmp"
	duck "with t as (select * from read_parquet('$f', file_row_number = true)),
		n as (select count(*) as n from t)
		select concat_ws(chr(9), 'R', '$name', file_row_number, epoch_ns(Fecha),
		Estado, Ciudad, Tipo, Canal, coalesce(printf('%.17g', Precio), '\\N')) as line
		from t, n where file_row_number in (0, 1, 777, n.n / 2, n.n - 1)
		order by file_row_number" >>"$out.tmp"
done
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -l <"$out") lines)"
