#!/usr/bin/python3
"""Static check of deploy/lambda/Dockerfile, for machines where images cannot
be built (no daemon, no registry).

usage: check_dockerfile.py DOCKERFILE [--binary MILKCAST]   (from the build context: the repository's root)

Checks: two stages, `debian:12 AS build` then `debian:12-slim`; the build
stage runs CMake and the runtime stage copies the binary from it; the
runtime's ENTRYPOINT is exactly ["/usr/local/bin/milkcast", "lambda"]; every
package either stage installs exists in the local apt cache (apt-cache show);
the runtime installs no -dev package nor compiler; every COPY source exists in
the build context and is let through by DOCKERFILE.dockerignore when there
is one (its `*` then `!path` form).  With --binary: the Debian
packages owning every library the binary loads (ldd, plus libcurl.so.4 and its
closure: it is loaded with dlopen) are all installed by the runtime stage or
its dependencies, and every library package the runtime stage names provides
one of them.  Exit 1 with one line per problem.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ENTRYPOINT = ["/usr/local/bin/milkcast", "lambda"]
NOT_LIBRARIES = {"ca-certificates", "tzdata"}  # data the runtime needs, no code


def logical_lines(text):
    """Instructions with continuations joined and comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not cur and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur.strip())
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def stages(lines):
    result = []
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            result.append({"image": parts[0], "alias": alias, "instructions": []})
        elif result:
            result[-1]["instructions"].append((word, rest.strip()))
    return result


def installed_packages(stage):
    """Package names after `apt-get install` in the stage's RUN lines."""
    pkgs = []
    for word, rest in stage["instructions"]:
        if word != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", rest):
            toks = shlex.split(cmd)
            toks = [t for t in toks if "=" not in t or t.startswith("-")]  # drop VAR=value
            if len(toks) >= 2 and toks[0] in ("apt-get", "apt") and "install" in toks:
                after = toks[toks.index("install") + 1 :]
                pkgs += [t for t in after if not t.startswith("-")]
    return pkgs


def copy_sources(stage):
    """The context paths of the stage's COPY/ADD instructions (not --from)."""
    out = []
    for word, rest in stage["instructions"]:
        if word not in ("COPY", "ADD"):
            continue
        toks = shlex.split(rest)
        if any(t.startswith("--from") for t in toks):
            continue
        toks = [t for t in toks if not t.startswith("--")]
        out += toks[:-1]
    return out


def ignored(path, dockerignore):
    """Whether a simple .dockerignore (`*` then `!dir/` or `!file`) keeps PATH out."""
    if not os.path.exists(dockerignore):
        return False
    verdict = False
    for line in open(dockerignore):
        pat = line.strip()
        if not pat or pat.startswith("#"):
            continue
        neg = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        p = path.rstrip("/")
        if pat == "*" or p == pat or p.startswith(pat + "/"):
            verdict = not neg
    return verdict


def apt_known(pkgs):
    """The names among PKGS the apt cache knows, in one apt-cache call."""
    if not pkgs:
        return set()
    r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(set(pkgs)),
                       capture_output=True, text=True)
    return {l.split(":", 1)[1].strip() for l in r.stdout.splitlines() if l.startswith("Package:")}


def apt_closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs,
                       capture_output=True, text=True, check=True)
    return {l.strip() for l in r.stdout.splitlines() if l and not l.startswith(" ") and not l.startswith("<")}


def ldd(path):
    r = subprocess.run(["ldd", path], capture_output=True, text=True, check=True)
    return [m.group(1) for m in re.finditer(r"=>\s+(/\S+)", r.stdout)]


def libcurl_path():
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"  # outside a user's PATH on Debian
    r = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=True)
    tag = next(l.split()[1] for l in r.stdout.splitlines() if l.split()[0] == "libc.so.6")
    for l in r.stdout.splitlines():
        f = l.split()
        if f[0] == "libcurl.so.4" and f[1] == tag:
            return f[-1]
    return None


def owners(paths):
    """{path: Debian package shipping it}, in one dpkg call (usrmerge: both spellings)."""
    spell = {}
    for path in paths:
        real = os.path.realpath(path)
        for c in (path, real):
            spell[c] = path
            if c.startswith("/usr/lib/"):
                spell[c[len("/usr"):]] = path
            elif c.startswith("/lib/"):
                spell["/usr" + c] = path
    r = subprocess.run(["dpkg", "-S"] + sorted(spell), capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        pkgs, sep, file = line.partition(": ")
        if sep and file in spell:
            found.setdefault(spell[file], pkgs.split(",")[0].split(":")[0].strip())
    return found


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary = None
    if "--binary" in args:
        i = args.index("--binary")
        binary = args[i + 1]
        del args[i:i + 2]
    path = args[0]
    problems = []
    st = stages(logical_lines(open(path).read()))
    if len(st) != 2:
        problems.append(f"{path}: {len(st)} stages, expected 2 (build, runtime)")
    if not st:
        print("\n".join(problems))
        return 1
    build, run = st[0], st[-1]
    if (build["image"], build["alias"]) != ("debian:12", "build"):
        problems.append(f"{path}: first stage is '{build['image']} AS {build['alias']}', expected 'debian:12 AS build'")
    if run["image"] != "debian:12-slim":
        problems.append(f"{path}: runtime stage is '{run['image']}', expected 'debian:12-slim'")
    if not any(w == "RUN" and "cmake --build" in r for w, r in build["instructions"]):
        problems.append(f"{path}: the build stage never runs 'cmake --build'")
    if not any(w == "COPY" and "--from=build" in r and r.split()[-1] == ENTRYPOINT[0] for w, r in run["instructions"]):
        problems.append(f"{path}: the runtime stage does not COPY --from=build the binary to {ENTRYPOINT[0]}")
    entry = [r for w, r in run["instructions"] if w == "ENTRYPOINT"]
    try:
        got = json.loads(entry[-1]) if entry else None
    except json.JSONDecodeError:
        got = entry[-1]
    if got != ENTRYPOINT:
        problems.append(f"{path}: ENTRYPOINT is {got!r}, expected {json.dumps(ENTRYPOINT)}")
    for src in copy_sources(build) + copy_sources(run):
        if not os.path.exists(src):
            problems.append(f"{path}: COPY source '{src}' is not in the build context ({os.getcwd()})")
        elif ignored(src, path + ".dockerignore"):
            problems.append(f"{path}: COPY source '{src}' is excluded by {path}.dockerignore")
    known = apt_known(installed_packages(build) + installed_packages(run))
    for stage in (build, run):
        for pkg in installed_packages(stage):
            if pkg not in known:
                problems.append(f"{path}: stage '{stage['image']}': no package '{pkg}' in the apt cache")
    run_pkgs = installed_packages(run)
    if not run_pkgs:
        problems.append(f"{path}: the runtime stage installs no package")
    for pkg in run_pkgs:
        if pkg.endswith("-dev") or pkg in ("build-essential", "gcc", "cmake", "make"):
            problems.append(f"{path}: the runtime stage installs the build tool or header package '{pkg}'")
    if binary and run_pkgs:
        curl = libcurl_path()
        libs = set(ldd(binary)) | ({curl} | set(ldd(curl)) if curl else set())
        if not curl:
            problems.append("libcurl.so.4 is not installed here: cannot check the runtime's libcurl")
        needed = {}
        found = owners(libs)
        for lib in sorted(libs):
            if lib not in found:
                problems.append(f"{lib}: no Debian package ships it")
            else:
                needed.setdefault(found[lib], lib)
        closure = apt_closure(run_pkgs)
        for pkg, lib in sorted(needed.items()):
            if pkg not in closure:
                problems.append(f"{path}: the runtime stage lacks '{pkg}' (for {lib})")
        for pkg in run_pkgs:
            if pkg not in NOT_LIBRARIES and pkg not in needed:
                problems.append(f"{path}: the runtime stage installs '{pkg}', which ships no library milkcast loads")
    for p in problems:
        print(p)
    if not problems:
        print(f"{path}: ok: {len(st)} stages, entry point {json.dumps(ENTRYPOINT)}, "
              f"{len(run_pkgs)} runtime packages" + (" cover every library" if binary else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
