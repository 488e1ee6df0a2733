#!/usr/bin/env bash
# lambda-zip.sh BUILD_DIR [--out DIR] [--model BUNDLE_DIR] [--system-glibc [--glibc-max VERSION]]
#
# Packs BUILD_DIR/milkcast as an AWS Lambda function for a custom runtime
# (provided.al2023) into OUT/milkcast-lambda.zip (OUT defaults to
# BUILD_DIR/lambda):
#
#   bootstrap        deploy/lambda/bootstrap: runs `bin/milkcast lambda`
#                    through lib/'s loader
#   bin/milkcast     the binary, debug info stripped, RPATH $ORIGIN/../lib
#   lib/             every shared library it needs: its ldd closure, plus
#                    libcurl.so.4 (loaded with dlopen on the first HTTP
#                    request, so ldd does not list it) and libcurl's own
#                    closure; glibc included: the loader (the binary's
#                    PT_INTERP, ld-linux-x86-64.so.2), libc.so.6, libm.so.6
#                    and whichever other glibc libraries the closure names
#   model/           with --model: a model bundle, served when the function
#                    sets no MILKCAST_MODEL
#
# glibc is bundled because the build system's C++ runtime may need a newer
# glibc than Lambda's (Debian 12's libstdc++ needs 2.36 and its libgcc_s
# 2.35; Amazon Linux 2023 has 2.34).  The bootstrap starts the program with
# the bundled loader, so the system's glibc is never used and the kernel is
# the only host requirement.  With --system-glibc, glibc is left out (for a
# build on Amazon Linux 2023 itself) and the zip runs on the system's.
#
# The RPATH is a DT_RPATH (not DT_RUNPATH) so that it also applies to the
# libraries' own dependencies and to dlopen: the bundled libraries are used
# as they are, unpatched.  Before zipping, scripts/check-glibc.sh checks the
# staged tree: with glibc bundled, that nothing is loaded from the host and
# that the bundled libc meets every file's glibc needs; with --system-glibc,
# that no file needs a glibc symbol version newer than --glibc-max (default
# 2.34, Amazon Linux 2023's).  When the check fails, the staged tree is kept
# in OUT/stage for inspection, no zip is written and the exit status is 1.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
PATH=$PATH:/usr/sbin:/sbin # ldconfig, outside a user's PATH on Debian

usage() {
	echo "usage: $0 BUILD_DIR [--out DIR] [--model BUNDLE_DIR] [--system-glibc [--glibc-max VERSION]]" >&2
	exit 2
}
die() {
	echo "lambda-zip: $*" >&2
	exit 1
}

(($#)) || usage
BUILD=$1
shift
OUT=$BUILD/lambda
MODEL=
GLIBC_MAX=
SYSTEM_GLIBC=0
while (($#)); do
	case $1 in
	--out) (($# >= 2)) || usage; OUT=$2; shift 2 ;;
	--model) (($# >= 2)) || usage; MODEL=$2; shift 2 ;;
	--system-glibc) SYSTEM_GLIBC=1; shift ;;
	--glibc-max) (($# >= 2)) || usage; GLIBC_MAX=$2; shift 2 ;;
	*) usage ;;
	esac
done
if [ -n "$GLIBC_MAX" ] && ((!SYSTEM_GLIBC)); then
	die "--glibc-max goes with --system-glibc (a bundled glibc is checked against itself)"
fi
GLIBC_MAX=${GLIBC_MAX:-2.34}

BIN=$BUILD/milkcast
[ -x "$BIN" ] || die "no built binary at '$BIN' (run make build first)"
for tool in patchelf zip ldd readelf ldconfig strip; do
	command -v "$tool" >/dev/null || die "'$tool' is missing (scripts/install-deps.sh installs it)"
done
if [ -n "$MODEL" ] && [ ! -f "$MODEL/bundle.json" ]; then
	die "--model '$MODEL' is not a model bundle (no bundle.json)"
fi

# The glibc family: bundled together with the loader, or (--system-glibc)
# not at all: a C library next to another glibc's loader does not work.
GLIBC_SONAMES='^(ld-linux[-a-z0-9_.]*\.so\.[0-9]+|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libmvec\.so\.1|libnsl\.so\.1|libBrokenLocale\.so\.1|libthread_db\.so\.1|libnss_[a-z0-9]+\.so\.2|linux-vdso\.so\.1|linux-gate\.so\.1)$'

# closure FILE: "SONAME PATH" for every library FILE loads, as ldd resolves it.
closure() {
	local out
	out=$(ldd "$1") || die "ldd cannot read '$1'"
	if grep -q 'not found' <<<"$out"; then
		die "'$1' needs libraries this system lacks: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
	fi
	awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' <<<"$out"
}

# interpreter FILE: FILE's program interpreter (PT_INTERP), the loader.
interpreter() {
	readelf -l -W "$1" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]$/\1/p'
}

# libcurl.so.4 as the dynamic loader would find it for this binary's ABI.
find_libcurl() {
	local tag
	tag=$(ldconfig -p | awk '$1 == "libc.so.6" { print $2; exit }')
	ldconfig -p | awk -v tag="$tag" '$1 == "libcurl.so.4" && $2 == tag { print $NF; exit }'
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE=$OUT/stage
ZIP=$OUT/milkcast-lambda.zip
rm -rf "$STAGE"
rm -f "$ZIP"
mkdir -p "$STAGE/bin" "$STAGE/lib"

install -m 755 "$SRC/deploy/lambda/bootstrap" "$STAGE/bootstrap"
install -m 755 "$BIN" "$STAGE/bin/milkcast"
strip --strip-debug "$STAGE/bin/milkcast"
# shellcheck disable=SC2016 # $ORIGIN is for the dynamic loader, not the shell
patchelf --force-rpath --set-rpath '$ORIGIN/../lib' "$STAGE/bin/milkcast"

CURL=$(find_libcurl)
[ -n "$CURL" ] || die "libcurl.so.4 is not installed (Debian: libcurl4); the bundle needs it for S3 and the Runtime API"
LIBS=$(closure "$BIN")
LIBS+=$'\n'"libcurl.so.4 $CURL"$'\n'
LIBS+=$(closure "$CURL")
LOADER=
if ((!SYSTEM_GLIBC)); then
	LOADER=$(interpreter "$BIN")
	[ -n "$LOADER" ] && [ -f "$LOADER" ] || die "'$BIN' names no program interpreter found here ('$LOADER')"
	LIBS+=$'\n'"${LOADER##*/} $LOADER"
fi
declare -A seen=()
nlibs=0
nglibc=0
while read -r soname path; do
	[ -n "$soname" ] || continue
	[ -z "${seen[$soname]:-}" ] || continue
	if [[ $soname =~ $GLIBC_SONAMES ]]; then
		((!SYSTEM_GLIBC)) || continue
		nglibc=$((nglibc + 1))
	fi
	seen[$soname]=1
	cp -L "$path" "$STAGE/lib/$soname"
	chmod 644 "$STAGE/lib/$soname"
	nlibs=$((nlibs + 1))
done <<<"$LIBS"
if [ -n "$LOADER" ]; then
	chmod 755 "$STAGE/lib/${LOADER##*/}" # the bootstrap runs it
	[ -f "$STAGE/lib/libc.so.6" ] || die "'$BIN' does not load libc.so.6: not a glibc program"
fi

if [ -n "$MODEL" ]; then
	mkdir -p "$STAGE/model"
	cp -RL "$MODEL"/. "$STAGE/model/"
fi

if ((SYSTEM_GLIBC)); then
	echo "lambda-zip: checking the bundle's glibc symbol versions (at most $GLIBC_MAX, the system's)"
	check=(--max "$GLIBC_MAX")
	why="the bundle needs a glibc newer than $GLIBC_MAX (listed above), so it would not start on that system"
else
	echo "lambda-zip: checking the bundle: its own glibc, nothing from the host"
	check=()
	why="the bundle fails the bundled-glibc check (listed above)"
fi
if ! "$SRC/scripts/check-glibc.sh" "${check[@]}" --quiet "$STAGE"; then
	cat >&2 <<EOF
lambda-zip: $why: no zip written; the staged tree is in $STAGE.
See docs/deploy.md, "Lambda packaging"; the container image
(deploy/lambda/Dockerfile) does not depend on Lambda's libraries.
EOF
	exit 1
fi

(cd "$STAGE" && zip -q -r -X -y "$ZIP" .)
size=$(du -k "$ZIP" | cut -f1)
unzipped=$(du -sk "$STAGE" | cut -f1)
if ((SYSTEM_GLIBC)); then
	glibc="glibc left to the system"
else
	glibc="$nglibc of them glibc's, the loader included"
fi
echo "lambda-zip: $ZIP: bootstrap, bin/milkcast, $nlibs libraries ($glibc)$([ -n "$MODEL" ] && echo ", a model"); ${size} KiB (${unzipped} KiB unzipped)"
