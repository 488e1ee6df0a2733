#!/usr/bin/env bash
# CI/CD and lint configuration: .github/workflows/{ci,deploy}.yml and the
# deploy action parse and have the jobs, order and permissions
# docs/development.md describes (OIDC only, prod behind the `production`
# environment, no long-lived AWS keys); .pre-commit-config.yaml parses and
# every hook runs a command this machine has; scripts/lint.sh's whitespace
# check catches what it should and its steps say "skipped" without their tool.
# actionlint runs too when installed.  No milkcast code runs here.
. "$(dirname "$0")/lib.sh"
$PY -c 'import yaml' 2>/dev/null || { echo "skip: Python's yaml module is missing (python3-yaml)"; exit 77; }
cd "$MC_SRC"

# ---- the workflows, the deploy action and the pre-commit config ----
# check.py checks the configuration in the current directory.
cat >"$TMP/check.py" <<'PY'
import os, re, shutil, sys
import yaml

errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

def load(path):
    with open(path) as f:
        return yaml.safe_load(f)

def triggers(wf):
    return wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true

def steps_text(job):
    return "\n".join(s.get("run", "") for s in job.get("steps", []))

def uses(job):
    return [s["uses"] for s in job.get("steps", []) if "uses" in s]

def step_with(job, action):
    return [s.get("with", {}) for s in job.get("steps", []) if s.get("uses", "").startswith(action + "@")]

ci = load(".github/workflows/ci.yml")
dep = load(".github/workflows/deploy.yml")
act = load(".github/actions/deploy/action.yml")

# ci.yml: push and pull requests; build-test and terraform jobs.
on = triggers(ci)
check("push" in on and "pull_request" in on, "ci.yml: runs on push and pull_request")
jobs = ci["jobs"]
check(set(jobs) >= {"build-test", "terraform"}, f"ci.yml: jobs build-test and terraform, got {sorted(jobs)}")
bt = steps_text(jobs.get("build-test", {}))
def at(text, cmd):
    """Where the command cmd starts in text (a whole command, not a prefix), or -1."""
    m = re.search(r"(^|[\s;&|])" + re.escape(cmd) + r"($|[\s;&|])", text, re.M)
    return m.start() if m else -1
order = [at(bt, c) for c in ("scripts/install-deps.sh", "make test", "make lint", "make lambda-zip")]
check(all(i >= 0 for i in order) and order == sorted(order),
      "ci.yml: build-test runs install-deps.sh, make test, make lint, make lambda-zip in order")
check(uses(jobs["build-test"])[0].startswith("actions/checkout@"), "ci.yml: build-test checks out first")
tf = jobs.get("terraform", {})
tft = steps_text(tf)
check(any(u.startswith("hashicorp/setup-terraform@") for u in uses(tf)), "ci.yml: terraform job sets up terraform")
for cmd in ("terraform fmt -check", "terraform init -backend=false", "terraform validate"):
    check(at(tft, cmd) >= 0, f"ci.yml: terraform job runs '{cmd}'")
check(tf.get("defaults", {}).get("run", {}).get("working-directory") == "infra/terraform",
      "ci.yml: terraform job works in infra/terraform")

# deploy.yml: after ci on main; OIDC; staging, then prod in `production`.
on = triggers(dep)
wr = on.get("workflow_run", {}) if isinstance(on, dict) else {}
check(ci.get("name") in wr.get("workflows", []) and wr.get("branches") == ["main"],
      "deploy.yml: triggered by the ci workflow on main")
check("push" not in on and "pull_request" not in on, "deploy.yml: never on a bare push or a pull request")
perms = dep.get("permissions", {})
check(perms.get("id-token") == "write" and perms.get("contents") == "read",
      "deploy.yml: permissions id-token: write, contents: read")
djobs = dep["jobs"]
check(set(djobs) == {"staging", "prod"}, f"deploy.yml: jobs staging and prod, got {sorted(djobs)}")
st, pr = djobs.get("staging", {}), djobs.get("prod", {})
check("success" in st.get("if", "") and "'push'" in st.get("if", ""),
      "deploy.yml: staging only after a successful CI run of a push")
needs = pr.get("needs", [])
check((needs if isinstance(needs, list) else [needs]) == ["staging"], "deploy.yml: prod needs staging")
env = pr.get("environment")
check((env.get("name") if isinstance(env, dict) else env) == "production",
      "deploy.yml: prod runs in the production environment (its required reviewers approve)")
for name, job, role, tfenv in (("staging", st, "STAGING_ROLE_ARN", "staging"), ("prod", pr, "PROD_ROLE_ARN", "prod")):
    p = job.get("permissions", perms)
    check(p.get("id-token") == "write", f"deploy.yml: {name} may request the OIDC token")
    creds = step_with(job, "aws-actions/configure-aws-credentials")
    check(len(creds) == 1 and creds[0].get("role-to-assume") == "${{ vars.%s }}" % role,
          f"deploy.yml: {name} assumes vars.{role} through configure-aws-credentials")
    u = uses(job)
    check("./.github/actions/deploy" in u and u.index("./.github/actions/deploy") > max(
        (i for i, x in enumerate(u) if x.startswith("aws-actions/configure-aws-credentials@")), default=99),
        f"deploy.yml: {name} deploys with ./.github/actions/deploy after getting credentials")
    d = step_with(job, "./.github/actions/deploy") or [s.get("with", {}) for s in job["steps"] if s.get("uses") == "./.github/actions/deploy"]
    check(d and d[0].get("environment") == tfenv, f"deploy.yml: {name} deploys environment {tfenv}")
    check(os.path.isfile(f"infra/terraform/env/{tfenv}.tfvars") and os.path.isfile(f"infra/terraform/env/{tfenv}.s3.tfbackend"),
          f"infra/terraform/env/{tfenv}.tfvars and .s3.tfbackend exist")
    checkout = step_with(job, "actions/checkout")
    check(checkout and "workflow_run.head_sha" in checkout[0].get("ref", ""),
          f"deploy.yml: {name} checks out the commit CI tested")

# The deploy action: ECR repository, image, then the full apply with the tag.
check(act.get("runs", {}).get("using") == "composite", "deploy action: a composite action")
at = "\n".join(s.get("run", "") for s in act["runs"]["steps"])
i_ecr, i_push, i_all = at.find("-target=module.ecr"), at.find("docker push"), at.rfind('-var "image_tag=$IMAGE_TAG"\n')
check(0 <= i_ecr < i_push < i_all, "deploy action: apply module.ecr, push the image, then apply all with the tag")
check('-var-file="env/$TF_ENV.tfvars"' in at and 'env/$TF_ENV.s3.tfbackend' in at,
      "deploy action: the environment's tfvars and backend")
check("${{ inputs." not in at, "deploy action: inputs reach scripts through env, never pasted into them")

# Every action pinned (a major version or a commit), never a branch.
for path in (".github/workflows/ci.yml", ".github/workflows/deploy.yml", ".github/actions/deploy/action.yml"):
    with open(path) as f:
        text = f.read()
    for ref in re.findall(r"uses:\s*([^\s#]+)", text):
        if ref.startswith("./"):
            continue
        check(re.search(r"@(v\d+(\.\d+)*|[0-9a-f]{40})$", ref) is not None, f"{path}: '{ref}' is not pinned")
    # OIDC only: no stored AWS keys anywhere in the workflows.
    for word in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "aws-access-key-id", "aws-secret-access-key"):
        check(word not in text, f"{path}: mentions {word} (use the OIDC role)")

# pre-commit: local hooks only, each a command this machine has.
pc = load(".pre-commit-config.yaml")
ids = set()
for repo in pc["repos"]:
    check(repo.get("repo") == "local", "pre-commit: local hooks only (nothing downloaded)")
    for h in repo.get("hooks", []):
        ids.add(h["id"])
        check(h.get("language") == "system", f"pre-commit: hook {h['id']} uses language: system")
        prog = h["entry"].split()[0]
        check(shutil.which(prog) is not None or (os.path.isfile(prog) and os.access(prog, os.X_OK)),
              f"pre-commit: hook {h['id']} runs '{prog}', which is not installed here")
        for key in ("files", "exclude"):
            if key in h:
                re.compile(h[key])
check(ids >= {"clang-format", "whitespace", "shellcheck", "terraform-fmt"},
      f"pre-commit: hooks clang-format, whitespace, shellcheck, terraform-fmt; got {sorted(ids)}")

for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
$PY "$TMP/check.py" || fail "CI configuration (see above)"
pass "workflows, deploy action and pre-commit hooks"

# The red tests of the structure check: a workflow holding an AWS key or a
# prod job without its environment must be refused.
mkdir -p "$TMP/repo/.github/workflows"
cp -r .github .pre-commit-config.yaml "$TMP/repo/"
mkdir -p "$TMP/repo/infra/terraform/env" "$TMP/repo/scripts"
cp infra/terraform/env/*.tfvars infra/terraform/env/*.tfbackend "$TMP/repo/infra/terraform/env/"
cp scripts/lint.sh "$TMP/repo/scripts/"
(cd "$TMP/repo" && $PY "$TMP/check.py" 2>/dev/null) || fail "the structure check passes on a copy"
sed -i 's/^    environment: production$/    environment: staging/' "$TMP/repo/.github/workflows/deploy.yml"
(cd "$TMP/repo" && $PY "$TMP/check.py" 2>"$TMP/err1") && fail "a prod job outside production passes"
assert_contains "$TMP/err1" "production environment"
cp .github/workflows/deploy.yml "$TMP/repo/.github/workflows/"
echo "          aws-secret-access-key: \${{ secrets.AWS_SECRET_ACCESS_KEY }}" >>"$TMP/repo/.github/workflows/deploy.yml"
(cd "$TMP/repo" && $PY "$TMP/check.py" 2>"$TMP/err2") && fail "a stored AWS key passes"
assert_contains "$TMP/err2" "AWS_SECRET_ACCESS_KEY"
pass "the check refuses a prod job outside production and a stored AWS key"

if command -v actionlint >/dev/null 2>&1; then
	actionlint .github/workflows/*.yml || fail "actionlint"
	pass "actionlint"
fi

# ---- scripts/lint.sh --whitespace (the pre-commit hook) ----
printf 'fine\n' >"$TMP/ok.txt"
printf 'a \nb\n' >"$TMP/blank.txt"
printf 'a\r\nb\r\n' >"$TMP/crlf.txt"
printf 'no newline' >"$TMP/noeol.txt"
printf '\x00\x01 \n\x02' >"$TMP/binary.bin"
expect_exit 0 scripts/lint.sh --whitespace "$TMP/ok.txt" "$TMP/binary.bin"
expect_exit 1 scripts/lint.sh --whitespace "$TMP/ok.txt" "$TMP/blank.txt"
assert_contains "$TMP/err" "blank.txt:1:a"
expect_exit 1 scripts/lint.sh --whitespace "$TMP/crlf.txt"
assert_contains "$TMP/err" "crlf.txt: CR (Windows) line ends"
expect_exit 1 scripts/lint.sh --whitespace "$TMP/noeol.txt"
assert_contains "$TMP/err" "noeol.txt: no newline at the end of the file"
pass "the whitespace check"

# ---- every lint step names itself; a missing tool is a skip, not a pass ----
mkdir -p "$TMP/bin"
for tool in git grep tail nproc dirname; do
	ln -s "$(command -v "$tool")" "$TMP/bin/$tool"
done
set +e
PATH="$TMP/bin" "$BASH" scripts/lint.sh "$TMP/no-build" >"$TMP/lint.out" 2>&1
set -e
for step in whitespace clang-format cppcheck clang-tidy shellcheck; do
	assert_contains "$TMP/lint.out" "^== $step"
done
for tool in clang-format cppcheck clang-tidy shellcheck; do
	assert_contains "$TMP/lint.out" "^skipped: $tool not installed"
done
if [ -d infra ]; then
	assert_contains "$TMP/lint.out" "^skipped: terraform not installed"
fi
pass "lint steps are named and skipped without their tool"
