#!/usr/bin/env bash
# Lambda packaging: scripts/check-glibc.sh on programs built here (names the
# file, symbol and version above the limit); scripts/lambda-zip.sh
# --system-glibc against the 2.34 limit (its verdict equals an objdump
# recount of the staged files); the default zip, which bundles glibc: its
# layout (bootstrap, bin/milkcast with RPATH $ORIGIN/../lib, lib/ with every
# library including the dlopen'd libcurl, the loader and libc, a model);
# check-glibc.sh's bundled-glibc rule on it, and that rule failing on a
# bundle with a file needing GLIBC_2.99 and on one missing a library; the
# bootstrap's start (bundled loader, absolute paths, the CA variables); the
# unzipped bundle, with an empty environment, answering a fake Lambda
# Runtime API with the numbers of `milkcast predict` while loading nothing
# from outside the bundle (libcurl included); the Dockerfile's static check,
# and that check failing on broken copies.
. "$(dirname "$0")/lib.sh"
PATH=$PATH:/usr/sbin:/sbin # ldconfig, outside a user's PATH on Debian
for tool in zip unzip patchelf objdump cc; do
	command -v "$tool" >/dev/null || { echo "skip: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done
CHECK="$MC_SRC/scripts/check-glibc.sh"
ZIPPER="$MC_SRC/scripts/lambda-zip.sh"
HOST_GLIBC=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
trap 'stop_fake; rm -rf "$TMP"' EXIT

# ---- check-glibc.sh on programs with known needs ----
mkdir "$TMP/elf"
printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' >"$TMP/old.c"
cc -o "$TMP/elf/old" "$TMP/old.c"
echo "not an ELF file" >"$TMP/elf/notes.txt"
expect_exit 0 "$CHECK" "$TMP/elf"
assert_contains "$TMP/out" "$TMP/elf/old: needs GLIBC_2.[0-9.]* at most"
assert_contains "$TMP/out" "$TMP/elf: rule: system glibc: every GLIBC_x.y need at most 2.34"
assert_contains "$TMP/out" "ok: 1 ELF file(s) pass"
expect_exit 2 "$CHECK" --max two "$TMP/elf"
expect_exit 2 "$CHECK" "$TMP/no-such-dir"
expect_exit 2 "$CHECK" "$TMP/old.c"
assert_contains "$TMP/err" "no ELF file"
if printf '%s\n' 2.36 "$HOST_GLIBC" | sort -V -C; then
	# arc4random came with glibc 2.36: a program calling it cannot run on 2.34.
	printf '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { printf("%%u\\n", arc4random()); return 0; }\n' >"$TMP/new.c"
	cc -o "$TMP/elf/new" "$TMP/new.c"
	expect_exit 1 "$CHECK" "$TMP/elf"
	assert_contains "$TMP/out" "$TMP/elf/new: arc4random@GLIBC_2.36 > 2.34"
	assert_eq "$(grep -c '> 2.34' "$TMP/out")" 1 "only arc4random is too new"
	assert_contains "$TMP/err" "FAIL: 1 problem(s), listed above (in 1 of 2 ELF file(s)"
	expect_exit 0 "$CHECK" --max 2.36 "$TMP/elf"
	pass "check-glibc.sh names the file and the symbol above the limit"
else
	pass "check-glibc.sh passes a program built here (glibc $HOST_GLIBC: no arc4random case)"
fi

# ---- a trained model to pack ----
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
"$MILKCAST" -q train --until 2025-03-31 --trials 3 --horizons 2 >/dev/null
"$MILKCAST" -q predict --as-of 2025-03-31 --output "$TMP/batch.json" --no-report
BUNDLE="$MILKCAST_HOME/models/latest"
[ -f "$BUNDLE/bundle.json" ] || fail "no trained bundle at $BUNDLE"
BUILD=$(dirname "$MILKCAST")

expect_exit 2 "$ZIPPER"
expect_exit 1 "$ZIPPER" "$TMP/no-build"
assert_contains "$TMP/err" "no built binary"
expect_exit 1 "$ZIPPER" "$BUILD" --out "$TMP/lz" --model "$TMP"
assert_contains "$TMP/err" "not a model bundle"

expect_exit 1 "$ZIPPER" "$BUILD" --out "$TMP/lz" --glibc-max 2.36
assert_contains "$TMP/err" "glibc-max goes with --system-glibc"

# ---- --system-glibc: the 2.34 verdict equals an objdump recount of the staged files ----
set +e
"$ZIPPER" "$BUILD" --out "$TMP/lz" --system-glibc >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
STAGE="$TMP/lz/stage"
[ -x "$STAGE/bin/milkcast" ] && [ -f "$STAGE/lib/libcurl.so.4" ] || fail "the staged tree"
[ ! -e "$STAGE/lib/libc.so.6" ] || fail "--system-glibc bundles libc.so.6"
reported=$(sed -n 's/^\(.*\): \([^ ]*\)@GLIBC_\([0-9.]*\) > 2.34$/\1 \2 \3/p' "$TMP/out" "$TMP/err" | sort)
recount=$(find "$STAGE" -type f | sort | while read -r f; do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	objdump -T "$f" | awk -v f="$f" '/\*UND\*/ && match($0, /\(?GLIBC_[0-9.]+\)?/) {
		v = substr($0, RSTART, RLENGTH); gsub(/[()]|GLIBC_/, "", v); print f, $NF, v }'
done | while read -r f s v; do
	printf '%s\n%s\n' "$v" 2.34 | sort -V -C || echo "$f $s $v"
done | sort -u)
assert_eq "$reported" "$recount" "symbols above 2.34: check-glibc.sh vs objdump"
if [ -n "$recount" ]; then
	assert_eq "$rc" 1 "lambda-zip exit status with symbols above 2.34"
	[ ! -e "$TMP/lz/milkcast-lambda.zip" ] || fail "a zip was written although the glibc check failed"
	assert_contains "$TMP/err" "no zip written"
	pass "lambda-zip --system-glibc refuses the 2.34 target: $(echo "$recount" | awk '{sub(".*/", "", $1); printf "%s%s (%s@GLIBC_%s)", (NR > 1 ? ", " : ""), $1, $2, $3}')"
else
	assert_eq "$rc" 0 "lambda-zip exit status"
	[ -s "$TMP/lz/milkcast-lambda.zip" ] || fail "no zip"
	pass "lambda-zip --system-glibc: every file needs glibc 2.34 or older"
fi

# ---- the zip, glibc bundled, with a model ----
expect_exit 0 "$ZIPPER" "$BUILD" --out "$TMP/lz" --model "$BUNDLE"
ZIP="$TMP/lz/milkcast-lambda.zip"
assert_contains "$TMP/out" "rule: bundled glibc $HOST_GLIBC "
assert_contains "$TMP/out" "$ZIP: bootstrap, bin/milkcast, [0-9]* libraries ([0-9]* of them glibc's, the loader included), a model"
mkdir "$TMP/u"
(cd "$TMP/u" && unzip -q "$ZIP")
U="$TMP/u"
[ -x "$U/bootstrap" ] && [ -x "$U/bin/milkcast" ] || fail "bootstrap and bin/milkcast are executable in the zip"
assert_eq "$(cd "$U" && find . -maxdepth 1 -mindepth 1 | sort | tr '\n' ' ')" "./bin ./bootstrap ./lib ./model " "zip layout"
# shellcheck disable=SC2016 # $ORIGIN is the loader's, not the shell's
assert_eq "$(readelf -d "$U/bin/milkcast" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')" '$ORIGIN/../lib' "RPATH"
readelf -d "$U/bin/milkcast" | grep -q RUNPATH && fail "a RUNPATH would not reach the libraries' own dependencies"
cmp -s "$BUNDLE/model.ubj" "$U/model/model.ubj" || fail "the model in the zip"
# Every library ldd resolves for milkcast and libcurl, glibc's too, and the
# binary's loader, copied unchanged.
curl_lib=$(ldconfig -p | awk '$1 == "libcurl.so.4" { print $NF; exit }')
interp=$(readelf -l "$MILKCAST" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
while read -r so path; do
	cmp -s "$path" "$U/lib/$so" || fail "lib/$so is not a copy of $path"
done < <({ ldd "$MILKCAST"; ldd "$curl_lib"; echo "libcurl.so.4 => $curl_lib"; echo "${interp##*/} => $interp"; } |
	awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u)
[ -x "$U/lib/${interp##*/}" ] || fail "the loader is not executable"
for so in libc.so.6 libm.so.6 libcurl.so.4 libstdc++.so.6 libgcc_s.so.1; do
	[ -f "$U/lib/$so" ] || fail "lib/ lacks $so"
done
pass "zip: bootstrap, bin/milkcast (RPATH \$ORIGIN/../lib), $(find "$U/lib" -type f | wc -l) libraries with libcurl's closure, glibc and its loader ${interp##*/}, the model"

# ---- check-glibc.sh's bundled-glibc rule ----
expect_exit 0 "$CHECK" "$U"
assert_contains "$TMP/out" "$U: rule: bundled glibc $HOST_GLIBC (lib/libc.so.6, lib/${interp##*/}): the host's glibc is not used"
assert_contains "$TMP/out" "$U: (a) bin/milkcast version through the bundled loader: every object from the bundle (milkcast "
assert_contains "$TMP/out" "$U/lib/libstdc++.so.6: needs GLIBC_2.[0-9]* at most"
assert_contains "$TMP/out" "$U: (b) $(find "$U" -type f \( -name '*.so*' -o -path '*/bin/*' \) | wc -l) ELF file(s): every GLIBC_x.y need at most $HOST_GLIBC"
kernel=$(readelf -n "$U/lib/libc.so.6" | sed -n 's/.*OS: Linux, ABI: \([0-9.]*[0-9]\).*/\1/p')
if command -v file >/dev/null; then
	assert_eq "$kernel" "$(file -L "$U/lib/libc.so.6" | sed -n 's/.*for GNU\/Linux \([0-9.]*[0-9]\).*/\1/p')" "libc's kernel: readelf vs file"
fi
assert_contains "$TMP/out" "$U: (c) the bundled libc needs Linux $kernel or newer (at most 4.14 allowed)"
expect_exit 1 "$CHECK" --kernel-max 2.6.32 "$U"
assert_contains "$TMP/out" "$U/lib/libc.so.6: needs Linux $kernel > 2.6.32"

# A file needing GLIBC_2.99: linked against a stub libc.so.6 defining it.
mkdir "$TMP/stub"
printf 'int __libc_start_main(void) { return 0; }\nint mc_t96_future(void) { return 99; }\n' >"$TMP/stub/libc.c"
printf 'GLIBC_2.34 { global: __libc_start_main; local: *; };\nGLIBC_2.99 { global: mc_t96_future; } GLIBC_2.34;\n' >"$TMP/stub/libc.map"
cc -shared -fPIC -o "$TMP/stub/libc.so.6" -Wl,-soname,libc.so.6 -Wl,--version-script="$TMP/stub/libc.map" "$TMP/stub/libc.c"
printf 'int mc_t96_future(void);\nint main(void) { return mc_t96_future() - 99; }\n' >"$TMP/stub/future.c"
cp -al "$U" "$TMP/b99" 2>/dev/null || cp -a "$U" "$TMP/b99"
cc -o "$TMP/b99/bin/future" "$TMP/stub/future.c" "$TMP/stub/libc.so.6"
expect_exit 1 "$CHECK" --quiet "$TMP/b99"
assert_contains "$TMP/out" "$TMP/b99/bin/future: mc_t96_future@GLIBC_2.99 > $HOST_GLIBC"
assert_eq "$(grep -c ' > ' "$TMP/out")" 1 "only mc_t96_future is too new"
assert_contains "$TMP/err" "FAIL: 1 problem(s)"
# A bundle missing a library: the loader finds the host's.
cp -al "$U" "$TMP/bz" 2>/dev/null || cp -a "$U" "$TMP/bz"
rm "$TMP/bz/lib/libz.so.1"
expect_exit 1 "$CHECK" --quiet "$TMP/bz"
assert_contains "$TMP/out" "$TMP/bz/bin/milkcast: the loader used /[^ ]*/libz.so.1, outside the bundle"
# A libc without its loader.
cp -al "$U" "$TMP/bl" 2>/dev/null || cp -a "$U" "$TMP/bl"
rm "$TMP/bl/lib/${interp##*/}"
expect_exit 1 "$CHECK" --quiet "$TMP/bl"
assert_contains "$TMP/out" "$TMP/bl/lib/libc.so.6: bundled without its loader"
pass "check-glibc.sh, bundled rule: glibc $HOST_GLIBC, nothing from the host, Linux $kernel; fails on GLIBC_2.99, a missing library, a missing loader"

# only_bundled LOG: in the process the bundled loader ran in, once the
# bootstrap's shell (the system's /bin/sh, the same process before its exec)
# had started, every file the loader tried, initialised or ran is in the
# bundle, and it never read the system's ld.so.cache.
only_bundled() {
	local pid stray
	pid=$(sed -n "s|^ *\([0-9]*\):.*calling init: $U/lib/${interp##*/}\$|\1|p" "$1" | head -1)
	[ -n "$pid" ] || fail "not started by the bundled loader (no $U/lib/${interp##*/} in $1)"
	grep -q "^ *$pid:.*transferring control: /bin/sh" "$1" || fail "no shell start in $1"
	grep "^ *$pid:" "$1" | sed '1,/transferring control: \/bin\/sh/d' >"$1.loader"
	stray=$(sed -n -e 's/.*trying file=//p' -e 's/.*calling init: //p' -e 's/.*initialize program: //p' \
		-e 's/.*search cache=/cache /p' "$1.loader" | grep -vF "$U/" | sort -u || true)
	[ -z "$stray" ] || fail "the loader used files outside the bundle: $stray"
	grep -qE "calling init: $U/(bin/\.\./)?lib/libc\.so\.6" "$1.loader" || fail "libc from the bundle"
}

# ---- the bootstrap's start, with a stand-in for bin/milkcast ----
cp -al "$U" "$TMP/bs" 2>/dev/null || cp -a "$U" "$TMP/bs"
rm "$TMP/bs/bin/milkcast"
cat >"$TMP/stub/show.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	const char *vars[] = {"SSL_CERT_FILE", "CURL_CA_BUNDLE", "MILKCAST_MODEL", "LD_LIBRARY_PATH"};
	for (int i = 0; i < argc; i++)
		printf("argv%d=%s\n", i, argv[i]);
	for (int i = 0; i < 4; i++)
		printf("%s=%s\n", vars[i], getenv(vars[i]) ? getenv(vars[i]) : "(unset)");
	return 0;
}
C
cc -o "$TMP/bs/bin/milkcast" "$TMP/stub/show.c"
BS="$TMP/bs"
(cd "$BS" && env -i LD_DEBUG=libs LD_LIBRARY_PATH=/lib/x86_64-linux-gnu ./bootstrap --max-invocations 3 >"$TMP/show.out" 2>"$TMP/show.ld")
assert_eq "$(sed -n '1,3p' "$TMP/show.out" | tr '\n' ' ')" "argv0=$BS/bin/milkcast argv1=lambda argv2=--max-invocations " "argv: absolute, 'lambda' first"
assert_contains "$TMP/show.out" "^MILKCAST_MODEL=$BS/model$"
assert_contains "$TMP/show.out" "^LD_LIBRARY_PATH=/lib/x86_64-linux-gnu$" # passed on, not used by the loader
U="$BS" only_bundled "$TMP/show.ld"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	assert_contains "$TMP/show.out" "^SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt$"
fi
(cd / && env -i SSL_CERT_FILE=/mine.pem MILKCAST_MODEL=s3://b/m "$BS/bootstrap" >"$TMP/show.out")
assert_contains "$TMP/show.out" "^SSL_CERT_FILE=/mine.pem$"
assert_contains "$TMP/show.out" "^MILKCAST_MODEL=s3://b/m$"
(cd / && env -i CURL_CA_BUNDLE=/theirs.pem "$BS/bootstrap" >"$TMP/show.out")
assert_contains "$TMP/show.out" "^SSL_CERT_FILE=(unset)$"
assert_contains "$TMP/show.out" "^CURL_CA_BUNDLE=/theirs.pem$"
(cd / && env -i MILKCAST_RUN="flow run daily --param *" "$BS/bootstrap" --max-invocations 1 >"$TMP/show.out")
assert_eq "$(sed -n '2,9p' "$TMP/show.out" | tr '\n' ' ')" "argv1=lambda argv2=--max-invocations argv3=1 argv4=--run argv5=flow argv6=run argv7=daily argv8=--param " "MILKCAST_RUN: the command's words after --run"
assert_contains "$TMP/show.out" "^argv9=\*$" # not globbed
pass "bootstrap: the bundled loader, absolute paths, the model in the zip, SSL_CERT_FILE only when no CA variable is set, MILKCAST_RUN"

# ---- the bootstrap against a fake Lambda Runtime API ----
$PY - "$TMP/events.json" <<'PY'
import json, sys
series = {"state": "Aguascalientes", "city": "Aguascalientes", "milk_type": "pasteurizada", "channel": "autoservicios"}
q = "&".join(f"{k}={v}" for k, v in series.items()) + "&horizon=2"
events = [
    {"version": "2.0", "routeKey": "GET /v1/forecast", "rawPath": "/prod/v1/forecast", "rawQueryString": q,
     "headers": {}, "requestContext": {"stage": "prod", "http": {"method": "GET", "path": "/prod/v1/forecast"}},
     "isBase64Encoded": False},
    dict(series, horizon=1),
    dict(series, state="Atlantis"),
]
json.dump(events, open(sys.argv[1], "w"))
PY
start_fake "$TMP/events.json"
# Lambda's LD_LIBRARY_PATH names the system's directories (/lib64:/usr/lib64…):
# the bundled loader must not use it.
(cd "$TMP" && env -i AWS_LAMBDA_RUNTIME_API="$AWS_LAMBDA_RUNTIME_API" LD_DEBUG=libs \
	LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64 \
	timeout 60 "$U/bootstrap" --max-invocations 3 >"$TMP/boot.out" 2>"$TMP/boot.ld") ||
	{ grep -v '^ *[0-9]*:' "$TMP/boot.ld" | tail -20; fail "bootstrap exited $?"; }
stop_fake
only_bundled "$TMP/boot.ld"
grep -q "calling init: $U/bin/../lib/libcurl.so.4" "$TMP/boot.ld.loader" || fail "libcurl (dlopen) from the bundle"
assert_eq "$(rec "(len(j['responses']), len(j['errors']), j['protocol_errors'], j['init_errors'])")" "(2, 1, [], [])" "answers"
batch() { json_get "$TMP/batch.json" "[r['price'] for r in j if r['state'] == 'Aguascalientes' and r['city'] == 'Aguascalientes' and r['milk_type'] == 'pasteurizada' and r['channel'] == 'autoservicios' and r['h'] == $1][0]"; }
assert_eq "$(rec "j['responses'][0]['body']['statusCode']")" 200 "HTTP API event status"
assert_eq "$(rec "[f['price'] for f in json.loads(j['responses'][0]['body']['body'])['forecasts']]")" "[$(batch 1), $(batch 2)]" "forecast = batch predict"
assert_eq "$(rec "j['responses'][1]['body']['price']")" "$(batch 1)" "direct invocation = batch predict"
assert_eq "$(rec "(j['errors'][0]['type'], 'Atlantis' in j['errors'][0]['body']['errorMessage'])")" "('milkcast.invalid', True)" "unknown series"
pass "bootstrap (env -i, the model in the zip) answers the Runtime API with predict's numbers; every object, libcurl and glibc included, from the bundle"

# ---- the Dockerfile, checked statically (no image is built here) ----
DOCKERFILE="$MC_SRC/deploy/lambda/Dockerfile"
cd "$MC_SRC" # the build context
if command -v hadolint >/dev/null; then
	expect_exit 0 hadolint --failure-threshold error "$DOCKERFILE"
fi
# The library check needs the binary the image would run: a sanitizer build
# also loads libasan, which no runtime image should carry.
binary=(--binary "$MILKCAST")
if ldd "$MILKCAST" | grep libasan >/dev/null; then binary=(); fi
expect_exit 0 $PY "$MC_SRC/tests/deploy/check_dockerfile.py" "$DOCKERFILE" "${binary[@]}"
assert_contains "$TMP/out" "ok: 2 stages"
sed -e 's/ libxgboost0 / libpng16-16 no-such-package-t96 /' -e 's#"lambda"\]#"serve"]#' \
	-e 's/^FROM debian:12-slim/FROM debian:12-slim\nRUN apt-get install -y libzip-dev/' \
	-e 's|^COPY src/ src/|&\nCOPY no-such-dir/ x/|' "$DOCKERFILE" >"$TMP/Dockerfile.bad"
expect_exit 1 $PY "$MC_SRC/tests/deploy/check_dockerfile.py" "$TMP/Dockerfile.bad" --binary "$MILKCAST"
assert_contains "$TMP/out" "ENTRYPOINT is \['/usr/local/bin/milkcast', 'serve'\]"
assert_contains "$TMP/out" "no package 'no-such-package-t96' in the apt cache"
assert_contains "$TMP/out" "installs the build tool or header package 'libzip-dev'"
assert_contains "$TMP/out" "COPY source 'no-such-dir/' is not in the build context"
if [ ${#binary[@]} -gt 0 ]; then
	assert_contains "$TMP/out" "the runtime stage lacks 'libxgboost0'"
	assert_contains "$TMP/out" "installs 'libpng16-16', which ships no library milkcast loads"
fi
pass "the Dockerfile: stages, entry point, packages$([ ${#binary[@]} -gt 0 ] && echo ", every library covered") (image not built: static check)"
