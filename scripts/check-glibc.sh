#!/usr/bin/env bash
# check-glibc.sh [--max VERSION] [--kernel-max VERSION] [--quiet] PATH...
#
# Whether the ELF files under each PATH can run on a system whose glibc is
# VERSION (default 2.34: Amazon Linux 2023's, hence AWS Lambda's
# provided.al2023).  One of two rules applies to each PATH, and the output
# says which:
#
# system glibc   (PATH has no lib/libc.so.6) every GLIBC_x.y symbol version
#                that each ELF file requires must be at most VERSION; a
#                newer one is printed as "FILE: SYMBOL@GLIBC_x.y > VERSION".
#
# bundled glibc  (PATH/lib holds libc.so.6 and its loader ld-linux*.so.*, as
#                scripts/lambda-zip.sh makes it; programs are started through
#                that loader, see deploy/lambda/bootstrap) the host's glibc
#                is not used at all, so instead:
#                (a) when PATH/bin/milkcast exists, it is run as the bootstrap
#                    runs it (PATH/lib/LOADER --inhibit-cache --library-path
#                    PATH/lib PATH/bin/milkcast version, empty environment,
#                    LD_DEBUG=libs) and every object the loader looks at or
#                    loads must lie inside PATH;
#                (b) every GLIBC_x.y requirement of every ELF file must be at
#                    most the bundled libc's version (the newest GLIBC_x.y
#                    that lib/libc.so.6 defines, readelf -V), printed as above
#                    when not;
#                (c) the only host requirement left is the kernel: the
#                    bundled libc's minimum Linux version (its NT_GNU_ABI_TAG
#                    note) must be at most --kernel-max (default 4.14).
#
# The required versions are the file's version needs (readelf -V): the
# dynamic loader refuses to start a program when the C library lacks one of
# them, so a version needed without any symbol counts too.  The symbols that
# bind to each version come from the dynamic symbol table (readelf
# --dyn-syms).  GLIBC_PRIVATE is glibc's internal interface: only glibc's own
# libraries, bundled together, may need it.  Files that are not ELF (scripts,
# data) are skipped.  Exit status: 0 pass, 1 fail, 2 usage or no ELF file.
set -euo pipefail

usage() {
	echo "usage: $0 [--max VERSION] [--kernel-max VERSION] [--quiet] PATH..." >&2
	exit 2
}

MAX=2.34
KERNEL_MAX=4.14
QUIET=0
while (($#)); do
	case $1 in
	--max) (($# >= 2)) || usage; MAX=$2; shift 2 ;;
	--kernel-max) (($# >= 2)) || usage; KERNEL_MAX=$2; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
(($#)) || usage
for v in "$MAX" "$KERNEL_MAX"; do
	[[ $v =~ ^[0-9]+(\.[0-9]+)+$ ]] || { echo "check-glibc: bad version '$v'" >&2; exit 2; }
done
command -v readelf >/dev/null || { echo "check-glibc: readelf is missing (binutils)" >&2; exit 2; }

# The glibc family's sonames: the only files allowed to need GLIBC_PRIVATE.
GLIBC_SONAMES='^(ld-linux[-a-z0-9_.]*\.so\.[0-9]+|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libmvec\.so\.1|libnsl\.so\.1|libBrokenLocale\.so\.1|libthread_db\.so\.1|libc_malloc_debug\.so\.0|libnss_[a-z0-9]+\.so\.2)$'

# newer A B: true when version A sorts after version B.
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]; }

is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# needed_versions FILE: the GLIBC_* version names FILE needs, one a line.
needed_versions() {
	readelf -V -W "$1" | awk '
		/^Version needs section/ { inneed = 1; next }
		/^Version (symbols|definition) section/ { inneed = 0 }
		inneed { for (i = 1; i <= NF; i++) if ($i == "Name:" && $(i + 1) ~ /^GLIBC_/) print $(i + 1) }' |
		sort -u
}

# defined_version FILE: the newest GLIBC_x.y that FILE (a libc) defines.
defined_version() {
	readelf -V -W "$1" | awk '
		/^Version definition section/ { indef = 1; next }
		/^Version (symbols|needs) section/ { indef = 0 }
		indef { for (i = 1; i <= NF; i++) if ($i == "Name:" && $(i + 1) ~ /^GLIBC_[0-9.]+$/) print substr($(i + 1), 7) }' |
		sort -V | tail -1
}

# abi_kernel FILE: the minimum Linux version of FILE's NT_GNU_ABI_TAG note.
abi_kernel() {
	readelf -n -W "$1" | sed -n 's/.*OS: Linux, ABI: \([0-9.]*[0-9]\).*/\1/p' | head -1
}

# version_symbols FILE VERSION: the undefined symbols of FILE bound to VERSION.
version_symbols() {
	readelf --dyn-syms -W "$1" | awk -v v="$2" '
		$7 == "UND" { n = split($8, p, "@"); if (n >= 2 && p[n] == v) print p[1] }' | sort -u
}

bad=0
badfiles=0
checked=0
# check_file FILE LIMIT PRIVATE_OK: FILE's GLIBC_x.y needs against LIMIT.
check_file() {
	local f=$1 limit=$2 private_ok=$3 max_seen="" v num syms s before=$bad
	checked=$((checked + 1))
	while read -r v; do
		[ -n "$v" ] || continue
		num=${v#GLIBC_}
		case $num in
		PRIVATE)
			if ((private_ok)) && [[ ${f##*/} =~ $GLIBC_SONAMES ]]; then continue; fi
			echo "$f: needs GLIBC_PRIVATE (glibc's internal interface: only glibc's own libraries, bundled together, may use it)"
			bad=$((bad + 1))
			continue
			;;
		ABI_DT_RELR) num=2.36 ;; # packed relocations: glibc 2.36
		esac
		if [[ ! $num =~ ^[0-9]+(\.[0-9]+)+$ ]]; then
			echo "$f: needs $v, a version this check does not know"
			bad=$((bad + 1))
			continue
		fi
		if [ -z "$max_seen" ] || newer "$num" "$max_seen"; then max_seen=$num; fi
		newer "$num" "$limit" || continue
		syms=$(version_symbols "$f" "$v")
		if [ -z "$syms" ]; then
			echo "$f: needs $v (no symbol names it) > $limit"
			bad=$((bad + 1))
		fi
		for s in $syms; do
			echo "$f: $s@$v > $limit"
			bad=$((bad + 1))
		done
	done < <(needed_versions "$f")
	((bad == before)) || badfiles=$((badfiles + 1))
	((QUIET)) || echo "$f: needs GLIBC_${max_seen:-none} at most"
}

# check_tree PATH LIMIT PRIVATE_OK: every ELF file under PATH.
check_tree() {
	local f
	while IFS= read -r -d '' f; do
		if is_elf "$f"; then check_file "$f" "$2" "$3"; fi
	done < <(find -L "$1" -type f -print0 | sort -z)
}

# check_run ROOT LOADER: (a) bin/milkcast version, started as the bootstrap
# starts it, loads nothing from outside ROOT.
check_run() {
	local root=$1 loader=$2 log out stray
	if [ ! -x "$root/bin/milkcast" ]; then
		echo "check-glibc: $root: (a) not run: no bin/milkcast"
		return
	fi
	log=$(mktemp)
	if ! out=$(cd / && env -i LD_DEBUG=libs "$loader" --inhibit-cache --library-path "$root/lib" \
		"$root/bin/milkcast" version 2>"$log") || [[ $out != milkcast\ * ]]; then
		echo "$root/bin/milkcast: does not start through $loader: $(grep -v '^ *[0-9]*:' "$log" | head -3 | tr '\n' ' ')"
		bad=$((bad + 1))
		rm -f "$log"
		return
	fi
	# Every file the loader tried, initialised or ran; and whether it read ld.so.cache.
	stray=$(sed -n -e 's/.*trying file=//p' -e 's/.*calling init: //p' -e 's/.*initialize program: //p' \
		-e 's/.*search cache=\(.*\)/\1 (the cache)/p' "$log" | grep -vF "$root/" | sort -u || true)
	rm -f "$log"
	if [ -n "$stray" ]; then
		while read -r s; do echo "$root/bin/milkcast: the loader used $s, outside the bundle"; done <<<"$stray"
		bad=$((bad + $(wc -l <<<"$stray")))
		return
	fi
	echo "check-glibc: $root: (a) bin/milkcast version through the bundled loader: every object from the bundle ($out)"
}

# check_bundle ROOT: the bundled-glibc rule, (a) to (c).
check_bundle() {
	local root=$1 libc=$1/lib/libc.so.6 loader version kernel
	loader=$(find "$root/lib" -maxdepth 1 -name 'ld-linux*.so.*' | sort | head -1)
	version=$(defined_version "$libc")
	kernel=$(abi_kernel "$libc")
	if [ -z "$loader" ] || [ -z "$version" ]; then
		if [ -z "$loader" ]; then
			echo "$libc: bundled without its loader (lib/ld-linux*.so.*): the host's loader would use it"
		else
			echo "$libc: defines no GLIBC_x.y version: not glibc's libc"
		fi
		bad=$((bad + 1))
		echo "check-glibc: $root: rule: system glibc (no usable bundled glibc): every GLIBC_x.y need at most $MAX"
		check_tree "$root" "$MAX" 0
		return
	fi
	echo "check-glibc: $root: rule: bundled glibc $version (lib/libc.so.6, ${loader#"$root"/}): the host's glibc is not used; every GLIBC_x.y need at most $version; the bundled libc's minimum kernel at most $KERNEL_MAX"
	check_run "$root" "$loader"
	local before=$bad files=$checked
	check_tree "$root" "$version" 1
	if ((bad == before)); then
		echo "check-glibc: $root: (b) $((checked - files)) ELF file(s): every GLIBC_x.y need at most $version"
	fi
	if [ -z "$kernel" ]; then
		echo "$libc: no NT_GNU_ABI_TAG note: its minimum kernel is unknown"
		bad=$((bad + 1))
	elif newer "$kernel" "$KERNEL_MAX"; then
		echo "$libc: needs Linux $kernel > $KERNEL_MAX"
		bad=$((bad + 1))
	else
		echo "check-glibc: $root: (c) the bundled libc needs Linux $kernel or newer (at most $KERNEL_MAX allowed)"
	fi
}

for path in "$@"; do
	[ -e "$path" ] || { echo "check-glibc: '$path' does not exist" >&2; exit 2; }
	if [ -d "$path" ] && [ -f "$path/lib/libc.so.6" ]; then
		check_bundle "$(cd "$path" && pwd)"
	else
		echo "check-glibc: $path: rule: system glibc: every GLIBC_x.y need at most $MAX"
		check_tree "$path" "$MAX" 0
	fi
done
((checked)) || { echo "check-glibc: no ELF file under $*" >&2; exit 2; }
if ((bad)); then
	echo "check-glibc: FAIL: $bad problem(s), listed above (in $badfiles of $checked ELF file(s) or the bundle's start)" >&2
	exit 1
fi
((QUIET)) || echo "check-glibc: ok: $checked ELF file(s) pass"
