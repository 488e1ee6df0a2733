#!/usr/bin/env python3
"""Checks, through an AWS client against moto_server, that `terraform apply`
of infra/terraform created what the configuration declares (t95-terraform.sh).

    check_deployment.py applied   ENDPOINT OUTPUTS.json VARS.tfvars
    check_deployment.py destroyed ENDPOINT OUTPUTS.json

`applied` reads the resources back (buckets, roles and their policies,
functions, API routes, schedule, alarms, log groups, repository), compares
them with the outputs and with the values of the tfvars file the test
applied, and then has moto enforce the roles' S3 permissions with the roles'
own credentials.  `destroyed` checks that everything is gone.  Every check
prints "ok: ..."; the first failure prints "FAIL: ..." and exits 1.

Each request is written as an awscli command line.  MC_T95_CLIENT=awscli runs
them with `aws --endpoint-url ...`; boto3 (the default when this Python has
it) makes the same calls in-process: the same botocore models and JSON
shapes, 3 s instead of 40 s of awscli start-ups for the ~50 requests.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import threading
import urllib.request

ACCOUNT = None  # set from sts get-caller-identity
REGION = "us-east-1"
LIST_ARGS = {"--repository-names"}  # awscli list parameters used below


class CheckError(Exception):
    pass


def need(cond, what):
    if not cond:
        raise CheckError(what)


def pick_client():
    want = os.environ.get("MC_T95_CLIENT", "")
    if want == "awscli":
        return "awscli"
    try:
        import boto3  # noqa: F401
    except ImportError:
        if want == "boto3":
            raise
        return "awscli"
    return "boto3"


CLIENT = pick_client()
_clients = {}
_clients_lock = threading.Lock()


def boto3_client(endpoint, service, creds):
    import boto3

    key = (service, tuple(sorted((creds or {}).items())))
    with _clients_lock:
        if key not in _clients:
            c = creds or {}
            _clients[key] = boto3.session.Session().client(
                service,
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id=c.get("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID")),
                aws_secret_access_key=c.get("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY")),
                aws_session_token=c.get("AWS_SESSION_TOKEN"),
            )
        return _clients[key]


def call_boto3(endpoint, args, creds):
    """The awscli command line `SERVICE OPERATION --opt value ... [OUTFILE]` through boto3."""
    import botocore.exceptions

    service = {"s3api": "s3"}.get(args[0], args[0])
    client = boto3_client(endpoint, service, creds)
    op = args[1].replace("-", "_")
    # --role-name is RoleName in IAM, --repository-names repositoryNames in ECR.
    shape = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[op]).input_shape
    members = {m.lower(): m for m in (shape.members if shape else {})}
    params, outfile, i = {}, None, 2
    while i < len(args):
        if args[i].startswith("--"):
            v = args[i + 1]
            if args[i] == "--body":
                with open(v, "rb") as f:
                    v = f.read()
            params[members[args[i].lstrip("-").replace("-", "")]] = [v] if args[i] in LIST_ARGS else v
            i += 2
        else:
            outfile = args[i]
            i += 1
    try:
        r = getattr(client, op)(**params)
    except botocore.exceptions.ClientError as e:
        return 255, str(e), None
    r.pop("ResponseMetadata", None)
    if "Body" in r:
        with open(outfile, "wb") as f:
            f.write(r.pop("Body").read())
    return 0, "", json.loads(json.dumps(r, default=str))


def call_awscli(endpoint, args, creds):
    env = dict(os.environ)
    env.update(creds or {})
    cmd = ["aws", "--endpoint-url", endpoint, "--region", REGION, "--output", "json"]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, timeout=120)
    out = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None
    return p.returncode, p.stderr.strip(), out


def aws(endpoint, *args, creds=None, fail_ok=False):
    """Runs one request; returns its JSON answer (None when empty).
    With fail_ok, returns (exit status, error message) instead of raising."""
    rc, err, out = (call_boto3 if CLIENT == "boto3" else call_awscli)(endpoint, args, creds)
    if fail_ok:
        return rc, err
    if rc != 0:
        raise CheckError(f"aws {' '.join(args)}: exit {rc}: {err}")
    return out


def parallel(endpoint, calls):
    """Runs {name: [args...]} (concurrently with awscli); returns {name: json}."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4 if CLIENT == "awscli" else 1) as pool:
        futs = {k: pool.submit(aws, endpoint, *v) for k, v in calls.items()}
        return {k: f.result() for k, f in futs.items()}


def read_tfvars(path):
    """The scalar assignments of a tfvars file (numbers, booleans, strings, null)."""
    out = {}
    pat = re.compile(r'^\s*([a-z_][a-z0-9_]*)\s*=\s*(-?\d+|true|false|null|"[^"]*")\s*(#.*)?$')
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = pat.match(line)
            if not m:
                continue
            v = m.group(2)
            if v in ("true", "false"):
                out[m.group(1)] = v == "true"
            elif v == "null":
                out[m.group(1)] = None
            elif v.startswith('"'):
                out[m.group(1)] = v[1:-1]
            else:
                out[m.group(1)] = int(v)
    return out


def as_list(x):
    return x if isinstance(x, list) else [x]


# --- storage -------------------------------------------------------------------


def check_bucket(ep, bucket, kms_arn, tfv, reports):
    r = parallel(
        ep,
        {
            "ver": ["s3api", "get-bucket-versioning", "--bucket", bucket],
            "enc": ["s3api", "get-bucket-encryption", "--bucket", bucket],
            "pab": ["s3api", "get-public-access-block", "--bucket", bucket],
            "own": ["s3api", "get-bucket-ownership-controls", "--bucket", bucket],
            "pol": ["s3api", "get-bucket-policy", "--bucket", bucket],
            "life": ["s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket],
        },
    )
    need(r["ver"].get("Status") == "Enabled", f"{bucket}: versioning is {r['ver']}")
    rule = r["enc"]["ServerSideEncryptionConfiguration"]["Rules"][0]
    sse = rule["ApplyServerSideEncryptionByDefault"]
    need(
        sse["SSEAlgorithm"] == "aws:kms" and sse.get("KMSMasterKeyID") == kms_arn,
        f"{bucket}: encryption {sse}, expected aws:kms with {kms_arn}",
    )
    need(rule.get("BucketKeyEnabled") is True, f"{bucket}: bucket key not enabled")
    pab = r["pab"]["PublicAccessBlockConfiguration"]
    need(
        all(
            pab.get(k) is True
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        ),
        f"{bucket}: public access block {pab}",
    )
    own = r["own"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    need(own == "BucketOwnerEnforced", f"{bucket}: object ownership {own}")
    pol = json.loads(r["pol"]["Policy"])
    deny = [
        s
        for s in pol["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        and set(as_list(s["Resource"])) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    ]
    need(deny, f"{bucket}: no statement denying requests without TLS: {pol}")

    rules = {x["ID"]: x for x in r["life"]["Rules"]}
    nc = rules.get("noncurrent-versions")
    need(nc and nc["Status"] == "Enabled", f"{bucket}: no enabled noncurrent-versions rule: {rules}")
    days = nc["NoncurrentVersionExpiration"]["NoncurrentDays"]
    need(days == tfv["noncurrent_version_expiration_days"], f"{bucket}: noncurrent versions expire after {days} days")
    need(nc["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7, f"{bucket}: multipart abort {nc}")
    if reports:
        rep = rules.get("reports")
        need(rep and rep["Status"] == "Enabled", f"{bucket}: no enabled reports rule: {rules}")
        need(rep["Filter"].get("Prefix") == "reports/", f"{bucket}: reports rule filter {rep['Filter']}")
        tr = rep["Transitions"][0]
        need(
            tr["StorageClass"] == "STANDARD_IA" and tr["Days"] == tfv["reports_transition_days"],
            f"{bucket}: reports transition {tr}",
        )
        need(rep["Expiration"]["Days"] == tfv["reports_expiration_days"], f"{bucket}: reports expiration {rep['Expiration']}")
    else:
        need(set(rules) == {"noncurrent-versions"}, f"{bucket}: unexpected lifecycle rules {sorted(rules)}")
    print(f"ok: bucket {bucket}: versioning, SSE-KMS with the key, public access blocked, TLS only, lifecycle rules")


# --- IAM -----------------------------------------------------------------------


def statements(doc):
    return [s for s in as_list(doc["Statement"])]


def check_no_wildcards(role, doc):
    """No action with a wildcard, no "*" resource, nothing for S3 outside ARNs of our buckets."""
    for s in statements(doc):
        need(s["Effect"] == "Allow", f"{role}: unexpected {s['Effect']} statement {s}")
        for a in as_list(s["Action"]):
            need("*" not in a, f"{role}: wildcard action {a!r} in {s}")
        for res in as_list(s["Resource"]):
            need(res != "*", f"{role}: Resource \"*\" in {s}")


def grants(doc, service):
    """{(action, resource)} of the Allow statements for one service's actions."""
    out = set()
    for s in statements(doc):
        for a in as_list(s["Action"]):
            if a.startswith(service + ":"):
                for res in as_list(s["Resource"]):
                    out.add((a, res))
    return out


def check_roles(ep, out, tfv, name, quiet=False):
    lake, art = out["lake_bucket"], out["artifacts_bucket"]
    L = f"arn:aws:s3:::{lake}"
    A = f"arn:aws:s3:::{art}"
    r = parallel(
        ep,
        {
            "api": ["iam", "get-role-policy", "--role-name", f"{name}-api", "--policy-name", "milkcast-api"],
            "daily": ["iam", "get-role-policy", "--role-name", f"{name}-daily", "--policy-name", "milkcast-daily"],
            "sched": ["iam", "get-role-policy", "--role-name", f"{name}-scheduler", "--policy-name", "milkcast-scheduler"],
            "api_role": ["iam", "get-role", "--role-name", f"{name}-api"],
            "sched_role": ["iam", "get-role", "--role-name", f"{name}-scheduler"],
            "attached": ["iam", "list-attached-role-policies", "--role-name", f"{name}-api"],
        },
    )
    docs = {k: r[k]["PolicyDocument"] for k in ("api", "daily", "sched")}
    for k, d in docs.items():
        check_no_wildcards(k, d)
    need(r["attached"]["AttachedPolicies"] == [], f"api role has attached policies {r['attached']}")

    api_s3 = grants(docs["api"], "s3")
    expect = {
        ("s3:GetObject", f"{A}/models/*"),
        ("s3:GetObject", f"{L}/lake/*"),
        ("s3:ListBucket", L),
        ("s3:ListBucket", A),
    }
    need(api_s3 == expect, f"api role S3 grants {sorted(api_s3)}, expected {sorted(expect)}")
    list_art = [s for s in statements(docs["api"]) if "s3:ListBucket" in as_list(s["Action"]) and A in as_list(s["Resource"])]
    need(
        list_art and list_art[0]["Condition"]["StringLike"]["s3:prefix"] in ("models/*", ["models/*"]),
        f"api role lists the artifacts bucket beyond models/: {list_art}",
    )
    if not quiet:
        print("ok: API role: GetObject on artifacts/models/* and lake/lake/* only; no s3:*, no \"*\" resource")

    daily_s3 = grants(docs["daily"], "s3")
    writes = {(a, res) for a, res in daily_s3 if a in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")}
    need(
        writes
        == {
            (a, res)
            for a in ("s3:PutObject", "s3:AbortMultipartUpload")
            for res in (f"{L}/lake/*", f"{A}/reports/*", f"{A}/state/*")
        },
        f"daily role writes {sorted(writes)}",
    )
    reads = {res for a, res in daily_s3 if a == "s3:GetObject"}
    need(reads == {f"{L}/lake/*", f"{A}/models/*", f"{A}/state/*"}, f"daily role reads {sorted(reads)}")
    ssm = grants(docs["daily"], "ssm")
    param = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/milkcast/staging/telegram-token"
    need({res for _, res in ssm} == {param}, f"daily role SSM grants {sorted(ssm)}, expected {param}")
    if not quiet:
        print("ok: daily role: writes lake/lake/*, artifacts/reports/* and artifacts/state/*, reads models and its state, reads only its SSM parameter")

    daily_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}-daily"
    sched = grants(docs["sched"], "lambda") | grants(docs["sched"], "s3") | grants(docs["sched"], "iam")
    need(sched == {("lambda:InvokeFunction", daily_arn)}, f"scheduler role grants {sorted(sched)}")
    need(len(statements(docs["sched"])) == 1, f"scheduler role has extra statements {docs['sched']}")
    trust = r["sched_role"]["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    need(trust["Principal"] == {"Service": "scheduler.amazonaws.com"}, f"scheduler trust {trust}")
    cond = trust["Condition"]
    group = f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/{name}"
    need(
        cond["StringEquals"]["aws:SourceAccount"] == ACCOUNT and cond["ArnEquals"]["aws:SourceArn"] == group,
        f"scheduler trust condition {cond}, expected account {ACCOUNT} and {group}",
    )
    trust = r["api_role"]["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    need(trust["Principal"] == {"Service": "lambda.amazonaws.com"}, f"api trust {trust}")
    if not quiet:
        print("ok: scheduler role: lambda:InvokeFunction on the daily function only, trusted by scheduler.amazonaws.com")


# --- functions, API, schedule, alarms, logs, repository --------------------------


def check_functions(ep, out, tfv, name):
    lake, art = out["lake_bucket"], out["artifacts_bucket"]
    image = f"{out['ecr_repository_url']}:{tfv['image_tag']}"
    r = parallel(
        ep,
        {
            "api": ["lambda", "get-function", "--function-name", f"{name}-api"],
            "daily": ["lambda", "get-function", "--function-name", f"{name}-daily"],
            "perm": ["lambda", "get-policy", "--function-name", f"{name}-api"],
            "async": ["lambda", "get-function-event-invoke-config", "--function-name", f"{name}-daily"],
            "logs": ["logs", "describe-log-groups"],
        },
    )
    env_common = {
        "MILKCAST_HOME": "/tmp/milkcast",
        "MILKCAST_LAKE": f"s3://{lake}/lake",
        "MILKCAST_ARTIFACTS": f"s3://{art}",
    }
    for key, mem, timeout in (("api", "api_memory_mb", 29), ("daily", "daily_memory_mb", 900)):
        c = r[key]["Configuration"]
        need(c["PackageType"] == "Image", f"{key}: package type {c['PackageType']}")
        need(r[key]["Code"]["ImageUri"] == image, f"{key}: image {r[key]['Code']['ImageUri']}, expected {image}")
        need(c["MemorySize"] == tfv[mem] and c["Timeout"] == timeout, f"{key}: memory {c['MemorySize']} timeout {c['Timeout']}")
        need(c["Role"] == f"arn:aws:iam::{ACCOUNT}:role/{name}-{key}", f"{key}: role {c['Role']}")
        env = c["Environment"]["Variables"]
        for k, v in env_common.items():
            need(env.get(k) == v, f"{key}: {k}={env.get(k)!r}, expected {v!r}")
        need(not any(k.endswith("TOKEN") for k in env), f"{key}: a token value in the environment: {sorted(env)}")
    api, daily = r["api"]["Configuration"], r["daily"]["Configuration"]
    need(not api.get("ImageConfigResponse", {}).get("ImageConfig", {}).get("Command"), "api: overrides the image's command")
    cmd = daily["ImageConfigResponse"]["ImageConfig"]["Command"]
    need(cmd == ["--run", "flow", "run", "daily"], f"daily: command {cmd}")
    need(r["daily"]["Concurrency"]["ReservedConcurrentExecutions"] == 1, f"daily: concurrency {r['daily'].get('Concurrency')}")
    need(r["async"]["MaximumRetryAttempts"] == 0, f"daily: async retries {r['async']}")
    denv = daily["Environment"]["Variables"]
    need(
        denv.get("MILKCAST_TELEGRAM_TOKEN_PARAMETER") == "/milkcast/staging/telegram-token",
        f"daily: token parameter {denv.get('MILKCAST_TELEGRAM_TOKEN_PARAMETER')!r}",
    )
    for k, v in (("MILKCAST_REPORTS", f"s3://{art}/reports"), ("MILKCAST_STATE", f"s3://{art}/state")):
        need(denv.get(k) == v, f"daily: {k}={denv.get(k)!r}, expected {v!r}")
    print(f"ok: functions {name}-api and {name}-daily: image {image}, environment, roles, daily command and concurrency")

    groups = {g["logGroupName"]: g.get("retentionInDays") for g in r["logs"]["logGroups"]}
    for g in (f"/aws/lambda/{name}-api", f"/aws/lambda/{name}-daily", f"/aws/apigateway/{name}"):
        need(groups.get(g) == tfv["log_retention_days"], f"log group {g}: retention {groups.get(g)} (groups: {groups})")
    print(f"ok: log groups with {tfv['log_retention_days']} days of retention")
    return json.loads(r["perm"]["Policy"])


def check_api(ep, out, tfv, name, perm):
    apis = [a for a in aws(ep, "apigatewayv2", "get-apis")["Items"] if a["Name"] == name]
    need(len(apis) == 1, f"{len(apis)} HTTP APIs named {name}")
    api = apis[0]
    need(api["ProtocolType"] == "HTTP", f"API protocol {api['ProtocolType']}")
    need(api["ApiId"] in out["api_url"], f"api_url {out['api_url']} is not API {api['ApiId']}")
    r = parallel(
        ep,
        {
            "routes": ["apigatewayv2", "get-routes", "--api-id", api["ApiId"]],
            "ints": ["apigatewayv2", "get-integrations", "--api-id", api["ApiId"]],
            "stages": ["apigatewayv2", "get-stages", "--api-id", api["ApiId"]],
        },
    )
    routes = sorted(x["RouteKey"] for x in r["routes"]["Items"])
    need(routes == ["GET /healthz", "GET /v1/forecast", "POST /v1/predict"], f"routes {routes}")
    ints = r["ints"]["Items"]
    need(len(ints) == 1, f"{len(ints)} integrations")
    i = ints[0]
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}-api"
    need(
        i["IntegrationType"] == "AWS_PROXY" and i["PayloadFormatVersion"] == "2.0" and fn in i["IntegrationUri"],
        f"integration {i}",
    )
    need(all(x["Target"] == f"integrations/{i['IntegrationId']}" for x in r["routes"]["Items"]), "a route misses the integration")
    st = [s for s in r["stages"]["Items"] if s["StageName"] == "$default"]
    need(len(st) == 1 and st[0]["AutoDeploy"], f"stages {r['stages']['Items']}")
    rs = st[0]["DefaultRouteSettings"]
    need(
        rs["ThrottlingRateLimit"] == tfv["throttle_rate_limit"] and rs["ThrottlingBurstLimit"] == tfv["throttle_burst_limit"],
        f"throttling {rs}",
    )
    need(st[0]["AccessLogSettings"]["DestinationArn"].endswith(f":log-group:/aws/apigateway/{name}"), "access logs")
    # API Gateway may invoke the function for exactly these three routes.
    sources = sorted(s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in perm["Statement"])
    base = f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api['ApiId']}/*/"
    need(
        sources == sorted(base + p for p in ("GET/healthz", "GET/v1/forecast", "POST/v1/predict")),
        f"invoke permissions {sources}",
    )
    need(all(s["Principal"] == {"Service": "apigateway.amazonaws.com"} for s in perm["Statement"]), "permission principal")
    print(
        "ok: HTTP API with exactly POST /v1/predict, GET /v1/forecast, GET /healthz"
        " (Lambda proxy, payload 2.0), throttled stage, per-route invoke permissions"
    )
    return api["ApiId"]


def check_schedule_alarms_ecr(ep, out, tfv, name, api_id):
    r = parallel(
        ep,
        {
            "sched": ["scheduler", "get-schedule", "--name", f"{name}-daily", "--group-name", name],
            "alarms": ["cloudwatch", "describe-alarms", "--alarm-name-prefix", name],
            "topics": ["sns", "list-topics"],
            "repo": ["ecr", "describe-repositories", "--repository-names", name],
            "life": ["ecr", "get-lifecycle-policy", "--repository-name", name],
            "rpol": ["ecr", "get-repository-policy", "--repository-name", name],
        },
    )
    s = r["sched"]
    need(s["ScheduleExpression"] == "cron(0 13 ? * MON,WED,FRI *)", f"schedule expression {s['ScheduleExpression']}")
    need(s["ScheduleExpressionTimezone"] == "America/Mexico_City", f"schedule zone {s['ScheduleExpressionTimezone']}")
    need(s["State"] == ("ENABLED" if tfv["schedule_enabled"] else "DISABLED"), f"schedule state {s['State']}")
    t = s["Target"]
    need(t["Arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}-daily", f"schedule target {t['Arn']}")
    need(t["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}-scheduler", f"schedule role {t['RoleArn']}")
    need(t["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}, f"retry policy {t['RetryPolicy']}")
    print(f"ok: schedule {name}/{name}-daily: cron(0 13 ? * MON,WED,FRI *) in America/Mexico_City, {s['State']}, retries")

    topic = out["alarm_topic_arn"]
    need(topic in [x["TopicArn"] for x in r["topics"]["Topics"]], f"alarm topic {topic} missing")
    alarms = {a["AlarmName"]: a for a in r["alarms"]["MetricAlarms"]}
    expect = {
        f"{name}-api-5xx": ("AWS/ApiGateway", "5xx", {"ApiId": api_id, "Stage": "$default"}),
        f"{name}-api-latency-p99": ("AWS/ApiGateway", "Latency", {"ApiId": api_id, "Stage": "$default"}),
        f"{name}-api-errors": ("AWS/Lambda", "Errors", {"FunctionName": f"{name}-api"}),
        f"{name}-daily-errors": ("AWS/Lambda", "Errors", {"FunctionName": f"{name}-daily"}),
        f"{name}-api-throttles": ("AWS/Lambda", "Throttles", {"FunctionName": f"{name}-api"}),
        f"{name}-daily-throttles": ("AWS/Lambda", "Throttles", {"FunctionName": f"{name}-daily"}),
        f"{name}-api-duration-p99": ("AWS/Lambda", "Duration", {"FunctionName": f"{name}-api"}),
    }
    need(set(alarms) == set(expect), f"alarms {sorted(alarms)}")
    for n, (ns, metric, dims) in expect.items():
        a = alarms[n]
        got = {d["Name"]: d["Value"] for d in a["Dimensions"]}
        need(a["Namespace"] == ns and a["MetricName"] == metric and got == dims, f"alarm {n}: {ns}/{metric} {got}")
        need(a["AlarmActions"] == [topic], f"alarm {n} notifies {a['AlarmActions']}")
    for n in (f"{name}-api-latency-p99", f"{name}-api-duration-p99"):
        need(alarms[n].get("ExtendedStatistic") == "p99", f"alarm {n}: statistic {alarms[n].get('ExtendedStatistic')}")
    print(
        f"ok: {len(alarms)} alarms (API 5xx and p99 latency, Lambda errors, throttles,"
        f" p99 duration) notifying {topic.split(':')[-1]}"
    )

    repo = r["repo"]["repositories"][0]
    need(repo["imageTagMutability"] == "IMMUTABLE", f"ECR tags {repo['imageTagMutability']}")
    need(repo["imageScanningConfiguration"]["scanOnPush"] is True, "ECR scan on push off")
    rules = json.loads(r["life"]["lifecyclePolicyText"])["rules"]
    counts = [x["selection"]["countNumber"] for x in rules if x["selection"]["countType"] == "imageCountMoreThan"]
    need(counts == [tfv["ecr_keep_images"]], f"ECR lifecycle keeps {counts}")
    need(any(x["selection"]["tagStatus"] == "untagged" for x in rules), "ECR lifecycle leaves untagged images")
    pol = json.loads(r["rpol"]["policyText"])["Statement"][0]
    need(pol["Principal"] == {"Service": "lambda.amazonaws.com"}, f"ECR policy principal {pol['Principal']}")
    fns = sorted(as_list(pol["Condition"]["ArnLike"]["aws:sourceArn"]))
    need(fns == [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}-{k}" for k in ("api", "daily")], f"ECR pullers {fns}")
    print("ok: ECR repository: immutable tags, scan on push, lifecycle policy, pulls by our two functions only")


# --- the roles' S3 permissions, enforced by moto ----------------------------------


def moto_auth(ep, count):
    """Requests moto serves before it checks signatures and policies (0: from now on)."""
    req = urllib.request.Request(f"{ep}/moto-api/reset-auth", data=str(count).encode(), method="POST")
    req.add_header("Content-Type", "text/plain")
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def role_creds(ep, role_arn):
    c = aws(ep, "sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "t95")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": c["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
        "AWS_SESSION_TOKEN": c["SessionToken"],
    }


def check_enforcement(ep, out, name, tmpfile):
    """Has moto judge S3 requests made with the roles' own credentials.

    moto evaluates bucket policies without condition keys, so the TLS-only
    Deny refuses every object request here (it is plain HTTP, so AWS would
    refuse it too): the policies are lifted for the role cases and put back."""
    lake, art = out["lake_bucket"], out["artifacts_bucket"]
    with open(tmpfile, "w", encoding="utf-8") as f:
        f.write("milkcast t95\n")
    rc, err = aws(ep, "s3api", "put-object", "--bucket", lake, "--key", "lake/x", "--body", tmpfile, fail_ok=True)
    need(rc != 0 and "403" in err, f"a plain-HTTP put passed the TLS-only bucket policy (exit {rc}: {err})")
    print("ok: the TLS-only bucket policy refuses a plain-HTTP put")

    policies = {b: aws(ep, "s3api", "get-bucket-policy", "--bucket", b)["Policy"] for b in (lake, art)}
    for b in policies:
        aws(ep, "s3api", "delete-bucket-policy", "--bucket", b)
    for b, k in ((lake, "lake/manifest.json"), (art, "models/b1/bundle.json"), (art, "reports/r.html"), (art, "state/milkcast.db"), (lake, "other/x")):
        aws(ep, "s3api", "put-object", "--bucket", b, "--key", k, "--body", tmpfile)
    creds = {k: role_creds(ep, f"arn:aws:iam::{ACCOUNT}:role/{name}-{k}") for k in ("api", "daily")}
    # (role, operation, bucket, key, allowed?)
    cases = [
        ("api", "get", lake, "lake/manifest.json", True),
        ("api", "get", art, "models/b1/bundle.json", True),
        ("api", "put", lake, "lake/new.parquet", False),
        ("api", "put", art, "models/b2/bundle.json", False),
        ("api", "get", art, "reports/r.html", False),
        ("api", "get", lake, "other/x", False),
        ("daily", "put", lake, "lake/new.parquet", True),
        ("daily", "get", art, "models/b1/bundle.json", True),
        ("daily", "put", art, "reports/new.html", True),
        ("daily", "get", art, "state/milkcast.db", True),
        ("daily", "put", art, "state/milkcast.db", True),
        ("daily", "get", art, "reports/r.html", False),
        ("api", "get", art, "state/milkcast.db", False),
        ("daily", "put", art, "models/b2/bundle.json", False),
        ("daily", "get", lake, "other/x", False),
        ("daily", "put", lake, "other/y", False),
    ]

    def run(i):
        role, op, b, k, _ = cases[i]
        if op == "get":
            args = ["s3api", "get-object", "--bucket", b, "--key", k, f"{tmpfile}.{i}"]
        else:
            args = ["s3api", "put-object", "--bucket", b, "--key", k, "--body", tmpfile]
        return aws(ep, *args, creds=creds[role], fail_ok=True)

    moto_auth(ep, 0)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(run, range(len(cases))))
    finally:
        moto_auth(ep, 1000000000)
        for b, doc in policies.items():
            aws(ep, "s3api", "put-bucket-policy", "--bucket", b, "--policy", doc)
    for (role, op, b, k, allowed), (rc, err) in zip(cases, results):
        if allowed:
            need(rc == 0, f"{role} role cannot {op} s3://{b}/{k}: {err}")
        else:
            need(rc != 0 and "AccessDenied" in err, f"{role} role may {op} s3://{b}/{k} (exit {rc}: {err})")
    print(
        f"ok: moto enforced the roles' S3 grants with their own credentials"
        f" ({len(cases)} reads and writes in and out of their prefixes)"
    )


def check_detects_wildcard(ep, out, tfv, name):
    """The role checks can fail: with an s3:* on "*" statement added to the API
    role's policy they must; the policy is put back afterwards."""
    role, pname = f"{name}-api", "milkcast-api"
    doc = aws(ep, "iam", "get-role-policy", "--role-name", role, "--policy-name", pname)["PolicyDocument"]
    bad = dict(doc, Statement=as_list(doc["Statement"]) + [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    aws(ep, "iam", "put-role-policy", "--role-name", role, "--policy-name", pname, "--policy-document", json.dumps(bad))
    try:
        check_roles(ep, out, tfv, name, quiet=True)
        caught = None
    except CheckError as e:
        caught = str(e)
    finally:
        aws(ep, "iam", "put-role-policy", "--role-name", role, "--policy-name", pname, "--policy-document", json.dumps(doc))
    need(caught and "wildcard action 's3:*'" in caught, f"an s3:* on * grant went unnoticed ({caught})")
    check_roles(ep, out, tfv, name, quiet=True)
    print("ok: the role checks catch an s3:* on \"*\" statement slipped into the API role (and pass again without it)")


def check_destroyed(ep, out, name):
    for b in (out["lake_bucket"], out["artifacts_bucket"]):
        rc, err = aws(ep, "s3api", "head-bucket", "--bucket", b, fail_ok=True)
        need(rc != 0 and ("404" in err or "Not Found" in err), f"bucket {b} still exists ({rc}: {err})")
    r = parallel(
        ep,
        {
            "fns": ["lambda", "list-functions"],
            "apis": ["apigatewayv2", "get-apis"],
            "roles": ["iam", "list-roles"],
            "alarms": ["cloudwatch", "describe-alarms", "--alarm-name-prefix", name],
            "scheds": ["scheduler", "list-schedules"],
            "repos": ["ecr", "describe-repositories"],
        },
    )
    left = [f["FunctionName"] for f in r["fns"]["Functions"]]
    left += [a["Name"] for a in r["apis"]["Items"]]
    left += [x["RoleName"] for x in r["roles"]["Roles"] if x["RoleName"].startswith(name)]
    left += [a["AlarmName"] for a in r["alarms"]["MetricAlarms"]]
    left += [s["Name"] for s in r["scheds"]["Schedules"]]
    left += [x["repositoryName"] for x in r["repos"]["repositories"]]
    need(not left, f"left after destroy: {left}")
    print("ok: after destroy the buckets, functions, API, roles, alarms, schedule and repository are gone")


def main():
    global ACCOUNT
    mode, ep, outputs = sys.argv[1:4]
    with open(outputs, encoding="utf-8") as f:
        out = {k: v["value"] for k, v in json.load(f).items()}
    ACCOUNT = aws(ep, "sts", "get-caller-identity")["Account"]
    print(f"checks through {CLIENT}")
    name = out["api_function_name"].removesuffix("-api")
    try:
        if mode == "destroyed":
            check_destroyed(ep, out, name)
            return 0
        tfv = read_tfvars(sys.argv[4])
        need(name == f"milkcast-{tfv['environment']}", f"names start with {name}")
        need(out["lake_bucket"] == f"{name}-lake-{ACCOUNT}", f"lake bucket {out['lake_bucket']}")
        need(out["artifacts_bucket"] == f"{name}-artifacts-{ACCOUNT}", f"artifacts bucket {out['artifacts_bucket']}")
        check_bucket(ep, out["lake_bucket"], out["kms_key_arn"], tfv, reports=False)
        check_bucket(ep, out["artifacts_bucket"], out["kms_key_arn"], tfv, reports=True)
        check_roles(ep, out, tfv, name)
        perm = check_functions(ep, out, tfv, name)
        api_id = check_api(ep, out, tfv, name, perm)
        check_schedule_alarms_ecr(ep, out, tfv, name, api_id)
        check_enforcement(ep, out, name, os.path.join(os.path.dirname(outputs), "object.txt"))
        check_detects_wildcard(ep, out, tfv, name)
    except CheckError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
