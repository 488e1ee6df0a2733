#!/usr/bin/env bash
# Lint: every check CI runs (`make lint`; docs/development.md says what each
# step catches).  Usage: scripts/lint.sh [BUILD]; BUILD must hold the build's
# compile_commands.json for clang-tidy (`make lint` builds it first).
# Each step prints its name; one whose tool is missing prints "skipped: TOOL
# not installed".  Exits 1 when any step failed, after running them all.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
JOBS=${JOBS:-$(nproc)}
failed=()

step() { echo "== $1"; }
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "skipped: $1 not installed"
	return 1
}
check() { # check NAME CMD...: run CMD, remember NAME when it fails
	local name=$1
	shift
	"$@" || failed+=("$name")
}

# What git tracks is what CI checks out: untracked files are not linted (nor
# tracked ones deleted from the working tree).
tracked() {
	local f
	git ls-files -z -- "$@" | while IFS= read -r -d '' f; do
		if [ -e "$f" ]; then printf '%s\n' "$f"; fi
	done
}
mapfile -t c_files < <(tracked '*.c' '*.h')
mapfile -t sh_files < <(tracked 'scripts/*.sh' 'tests/cli/*.sh' 'bench/*.sh' .ci/run)

# Trailing blanks, CR line ends and a missing final newline in text files
# (binary files are skipped).  The pre-commit hook runs this on the staged
# files: scripts/lint.sh --whitespace FILE...
whitespace() {
	local rc=0 f
	for f in "$@"; do
		[ -f "$f" ] && [ -s "$f" ] && grep -I -q '' "$f" || continue # empty or binary
		if grep -n -H -E '[[:blank:]]+$' "$f" >&2; then
			echo "$f: trailing whitespace on the lines above" >&2
			rc=1
		fi
		if grep -q $'\r' "$f"; then
			echo "$f: CR (Windows) line ends" >&2
			rc=1
		fi
		if [ -n "$(tail -c 1 "$f")" ]; then
			echo "$f: no newline at the end of the file" >&2
			rc=1
		fi
	done
	return $rc
}

if [ "${1:-}" = "--whitespace" ]; then
	shift
	whitespace "$@"
	exit
fi

# clang-tidy over src/**/*.c in parallel.  A file's result is cached under
# BUILD/clang-tidy-cache, keyed by clang-tidy's version, .clang-tidy, the
# compile command and the contents of every file the compiler's depfile lists
# (its headers), so a run after a small change only re-checks what it touched.
# rm -rf BUILD/clang-tidy-cache forces a full run.
tidy() {
	if [ ! -f "$BUILD/compile_commands.json" ]; then
		echo "lint: no $BUILD/compile_commands.json: run 'make build' (or make lint) first" >&2
		return 1
	fi
	python3 - "$BUILD" "$JOBS" <<'PY'
import concurrent.futures, hashlib, json, os, shlex, subprocess, sys

build, jobs = sys.argv[1], max(1, int(sys.argv[2]))
root = os.getcwd()
cache = os.path.join(build, "clang-tidy-cache")
os.makedirs(cache, exist_ok=True)
version = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True).stdout
with open(".clang-tidy", "rb") as f:
    config = f.read()
digests = {}

def digest(path):
    if path not in digests:
        try:
            with open(path, "rb") as f:
                digests[path] = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            digests[path] = None
    return digests[path]

def key(entry):
    """The cache key of one file, or None when its depfile is missing."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    obj = args[args.index("-o") + 1] if "-o" in args else None
    depfile = os.path.join(entry["directory"], obj + ".d") if obj else None
    if not depfile or not os.path.exists(depfile):
        return None
    with open(depfile) as f:
        deps = f.read().replace("\\\n", " ").split(":", 1)[1].split()
    h = hashlib.sha256(version.encode() + config + " ".join(args).encode())
    for d in sorted(set(deps)):
        dd = digest(os.path.join(entry["directory"], d))
        if dd is None:
            return None
        h.update(d.encode() + dd.encode())
    return h.hexdigest()

def run(entry):
    k = key(entry)
    stamp = os.path.join(cache, k) if k else None
    if stamp and os.path.exists(stamp):
        return entry["file"], True, None
    p = subprocess.run(["clang-tidy", "-p", build, "--quiet", entry["file"]],
                       capture_output=True, text=True)
    out = p.stdout + "".join(l + "\n" for l in p.stderr.splitlines()
                             if not l.endswith("warnings generated.")
                             and not l.startswith("Suppressed "))
    ok = p.returncode == 0 and " warning: " not in out and " error: " not in out
    if ok and stamp:
        open(stamp, "w").close()
    return entry["file"], ok, out

with open(os.path.join(build, "compile_commands.json")) as f:
    db = json.load(f)
entries = {}
for e in db:
    path = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(path, root)
    if rel.startswith("src" + os.sep) and rel.endswith(".c"):
        entries.setdefault(rel, dict(e, file=path))
bad = cached = 0
with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
    for path, ok, out in pool.map(run, [entries[k] for k in sorted(entries)]):
        cached += out is None
        if not ok:
            bad += 1
            sys.stdout.write(out or f"{path}: clang-tidy failed\n")
print(f"clang-tidy: {len(entries)} files ({cached} unchanged since a clean run), {bad} with findings")
sys.exit(1 if bad else 0)
PY
}

# tests/data/ holds byte-exact fixtures (SNIIM's own trailing blanks).
step "whitespace"
mapfile -t text_files < <(tracked . ':!tests/data')
check whitespace whitespace "${text_files[@]}"

step "clang-format"
if have clang-format; then
	check clang-format clang-format --dry-run --Werror "${c_files[@]}"
fi

step "cppcheck"
if have cppcheck; then
	check cppcheck cppcheck --quiet --error-exitcode=1 --std=c11 -j "$JOBS" \
		--enable=warning,portability,performance --inline-suppr \
		--suppress=missingIncludeSystem -I include -I src "${c_files[@]}"
fi

step "clang-tidy"
if have clang-tidy && have python3; then
	check clang-tidy tidy
fi

step "shellcheck"
if have shellcheck; then
	check shellcheck shellcheck "${sh_files[@]}"
fi

step "terraform fmt"
if [ ! -d infra ]; then
	echo "skipped: no infra/"
elif have terraform; then
	check "terraform fmt" terraform fmt -check -recursive -diff infra/
fi

if ((${#failed[@]})); then
	echo "lint: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "lint: all clean"
