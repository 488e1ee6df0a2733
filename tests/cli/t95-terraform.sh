#!/usr/bin/env bash
# infra/terraform: `terraform fmt -check`, an offline `init` from the provider
# plugin directory already on the machine and `validate`; then, on a copy with
# tests/terraform/moto_override.tf.in merged in (local state, every endpoint on
# a moto_server on loopback), `plan` of env/prod.tfvars, `apply` of
# env/staging.tfvars, checks of what was created and of what the roles may do
# (tests/terraform/check_deployment.py), `destroy`, and checks that it is gone.
# Nothing is downloaded.  Skips (77) without terraform, the AWS provider
# plugin, moto_server or aws, and in the sanitizer build (no milkcast code runs
# here; the normal build's run is the one that counts).
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MC_BUILD_DIR:=$MC_SRC/build}"
INFRA="$MC_SRC/infra/terraform"

skip() { echo "skip: $*"; exit 77; }
if grep -qs '^MC_SANITIZE:BOOL=ON' "$MC_BUILD_DIR/CMakeCache.txt"; then
	skip "sanitizer build: this test runs no milkcast code (it runs in the normal build)"
fi
command -v terraform >/dev/null 2>&1 || skip "terraform is not on PATH"
command -v moto_server >/dev/null 2>&1 || skip "moto_server is not on PATH"
command -v aws >/dev/null 2>&1 || skip "aws (awscli) is not on PATH"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "python3 is not on PATH"
# The checks run through boto3 when the python3 on PATH (moto's) has it, else awscli.
CHECK_PY=$PY
python3 -c 'import boto3' >/dev/null 2>&1 && CHECK_PY=$(command -v python3)

# Terraform and the AWS CLI see only what this test sets: no user CLI config,
# plugin cache, TF_VAR_*, profile or endpoint from the environment.
while IFS= read -r v; do
	case "$v" in TF_* | AWS_* | CHECKPOINT_*) unset "$v" ;; esac
done < <(compgen -e)

TMP=$(mktemp -d /tmp/mc-tf-XXXXXX)
MOTO_PID=
PLAN_PID=
cleanup() {
	if [ -n "$PLAN_PID" ]; then kill "$PLAN_PID" 2>/dev/null || true; wait "$PLAN_PID" 2>/dev/null || true; fi
	if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
	if [ -n "${MC_T95_KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Runs terraform with its output in $TMP/NAME.log, shown when it fails.
tf() {
	local name=$1
	shift
	if ! terraform "$@" >"$TMP/$name.log" 2>&1; then
		tail -60 "$TMP/$name.log" >&2
		[ -f "$TMP/moto.log" ] && grep -E '" [45][0-9][0-9] ' "$TMP/moto.log" | tail -20 >&2
		fail "terraform $* (in $PWD)"
	fi
}

: >"$TMP/terraformrc"
export TF_CLI_CONFIG_FILE="$TMP/terraformrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export TF_DATA_DIR="$TMP/tfdata"
for c in init validate plan apply destroy output; do export "TF_CLI_ARGS_$c=-no-color"; done

# The provider plugin: a directory laid out as registry.terraform.io/hashicorp/aws/5.x/PLATFORM/.
PLATFORM=$(terraform version -json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["platform"])')
PLUGIN=
for root in ${MC_TF_PLUGIN_DIR:-} /opt/tf-plugins "$HOME/.terraform.d/plugins" \
	"$HOME/.local/share/terraform/plugins" /usr/local/share/terraform/plugins \
	/usr/share/terraform/plugins; do
	[ -d "$root" ] || continue
	PLUGIN=$(find -L "$root" -type f -name 'terraform-provider-aws*' \
		-path "*/registry.terraform.io/hashicorp/aws/5.*/$PLATFORM/*" 2>/dev/null | sort -V | tail -1)
	[ -n "$PLUGIN" ] && break
done
[ -n "$PLUGIN" ] || skip "no terraform-provider-aws 5.x for $PLATFORM in a plugin directory (set MC_TF_PLUGIN_DIR)"
PLUGIN_DIR=${PLUGIN%%/registry.terraform.io/*}
echo "provider: $PLUGIN"

# 1. Formatting, on the files as they are in the repository.
if ! terraform fmt -check -recursive -diff "$INFRA" >"$TMP/fmt.log" 2>&1; then
	cat "$TMP/fmt.log"
	fail "terraform fmt -check: run terraform fmt -recursive infra/terraform"
fi
echo "ok: terraform fmt -check -recursive"

# 2. Offline init and validate of an untouched copy (without local state or
# init leftovers: nothing is written into the repository).
copy() {
	mkdir -p "$1"
	(cd "$INFRA" && tar --exclude=.terraform --exclude='*.tfstate*' \
		--exclude=.terraform.lock.hcl -cf - .) | tar -C "$1" -xf -
}
copy "$TMP/cfg"
cd "$TMP/cfg"
tf init init -backend=false -plugin-dir="$PLUGIN_DIR"
tf validate validate
echo "ok: terraform init -backend=false -plugin-dir (offline) and validate"

# 3. moto_server on a free loopback port.
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EP="http://127.0.0.1:$PORT"
MOTO_LAMBDA_STUB_ECR=true moto_server -H 127.0.0.1 -p "$PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 1 100); do
	curl -s -o /dev/null "$EP/moto-api/" && break
	kill -0 "$MOTO_PID" 2>/dev/null || { cat "$TMP/moto.log"; fail "moto_server exited"; }
	sleep 0.1
done
curl -sf -o /dev/null "$EP/moto-api/" || fail "moto_server does not answer on $EP"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=moto-test-secret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true

# 4. The override, then init with the local backend (same plugin directory).
sed "s#@ENDPOINT@#$EP#g" "$MC_SRC/tests/terraform/moto_override.tf.in" >moto_override.tf
tf init-moto init -reconfigure -plugin-dir="$PLUGIN_DIR"

# prod.tfvars is planned (in its own copy, beside the apply) so its values pass validation.
copy "$TMP/cfg-prod"
cp moto_override.tf .terraform.lock.hcl "$TMP/cfg-prod/"
(cd "$TMP/cfg-prod" && terraform plan -refresh=false -lock=false -var-file=env/prod.tfvars \
	>"$TMP/plan-prod.log" 2>&1) &
PLAN_PID=$!

start=$SECONDS
tf apply apply -auto-approve -var-file=env/staging.tfvars
echo "ok: terraform apply -var-file=env/staging.tfvars against moto ($((SECONDS - start)) s)"
terraform output -json >"$TMP/outputs.json"

if ! wait "$PLAN_PID"; then
	PLAN_PID=
	tail -40 "$TMP/plan-prod.log" >&2
	fail "terraform plan -var-file=env/prod.tfvars"
fi
PLAN_PID=
grep -Eq '^Plan: [1-9][0-9]* to add, 0 to change, 0 to destroy' "$TMP/plan-prod.log" ||
	fail "prod plan: $(grep -E '^Plan:' "$TMP/plan-prod.log" || echo 'no Plan: line')"
echo "ok: terraform plan -var-file=env/prod.tfvars ($(grep -E '^Plan:' "$TMP/plan-prod.log"))"

# 5. What was created, read back (boto3, or awscli with MC_T95_CLIENT=awscli),
# and what the roles may do, judged by moto.
"$CHECK_PY" "$MC_SRC/tests/terraform/check_deployment.py" applied "$EP" "$TMP/outputs.json" env/staging.tfvars ||
	fail "the deployment differs from the configuration"

# 6. Destroy and check that nothing is left.
start=$SECONDS
tf destroy destroy -auto-approve -refresh=false -var-file=env/staging.tfvars
echo "ok: terraform destroy ($((SECONDS - start)) s)"
"$CHECK_PY" "$MC_SRC/tests/terraform/check_deployment.py" destroyed "$EP" "$TMP/outputs.json" ||
	fail "terraform destroy left resources behind"

echo "note: moto gaps (the real configuration is not weakened for them):"
echo "note:   functions are created from an image URI moto neither pulls nor checks"
echo "note:   (MOTO_LAMBDA_STUB_ECR), and never run;"
echo "note:   policy conditions are not evaluated (so the TLS-only bucket deny refuses every object request)"
echo "note:   and KMS keys are not checked on S3 requests;"
echo "note:   the schedule never fires and the alarms never change state."
