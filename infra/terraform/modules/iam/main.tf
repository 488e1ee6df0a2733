# Least-privilege roles: one per function plus the scheduler's.
#
# - api:       reads ARTIFACTS/models/* and LAKE/lake/*; writes its own logs.
# - daily:     reads and writes LAKE/lake/*, reads ARTIFACTS/models/*, writes
#              ARTIFACTS/reports/*, reads and writes ARTIFACTS/state/* (its flow
#              history), reads the alert secrets; writes its own logs.
# - scheduler: invokes the daily function, nothing else.
# - trainer:   a managed policy (not attached) for whoever runs `milkcast train`:
#              reads LAKE/lake/*, reads and writes ARTIFACTS/models/*.
#
# No statement grants s3:* or an S3 action on "*".  s3:ListBucket on the lake
# bucket is unconditioned on purpose: S3 answers 404 instead of 403 for a
# missing key only to callers allowed to list, and milkcast reads a missing
# lake manifest as "empty lake".  The lake bucket holds nothing but the lake.

locals {
  lake_objects    = "${var.lake_bucket_arn}/${var.lake_prefix}/*"
  models_objects  = "${var.artifacts_bucket_arn}/${var.models_prefix}/*"
  reports_objects = "${var.artifacts_bucket_arn}/${var.reports_prefix}/*"
  state_objects   = "${var.artifacts_bucket_arn}/${var.state_prefix}/*"
  arn_prefix      = "arn:${var.partition}"
  log_groups = {
    api   = "${local.arn_prefix}:logs:${var.region}:${var.account_id}:log-group:/aws/lambda/${var.api_function_name}"
    daily = "${local.arn_prefix}:logs:${var.region}:${var.account_id}:log-group:/aws/lambda/${var.daily_function_name}"
  }
  daily_function_arn = "${local.arn_prefix}:lambda:${var.region}:${var.account_id}:function:${var.daily_function_name}"
  parameter_arns = [
    for p in var.secret_parameter_names :
    "${local.arn_prefix}:ssm:${var.region}:${var.account_id}:parameter/${trimprefix(p, "/")}"
  ]
  s3_via_service = "s3.${var.region}.amazonaws.com"
}

# --- trust policies --------------------------------------------------------

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
    # Scheduler's confused-deputy guard: the ARN must be the schedule group's
    # (not a schedule's or a name prefix).
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["${local.arn_prefix}:scheduler:${var.region}:${var.account_id}:schedule-group/${var.schedule_group_name}"]
    }
  }
}

# --- the API function --------------------------------------------------------

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_groups.api}:*"]
  }
  statement {
    sid       = "ReadModelsAndLake"
    actions   = ["s3:GetObject"]
    resources = [local.models_objects, local.lake_objects]
  }
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
  }
  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.models_prefix}/*"]
    }
  }
  statement {
    sid       = "DecryptBuckets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
}

resource "aws_iam_role" "api" {
  name               = "${var.name}-api"
  description        = "milkcast API Lambda: reads models and the lake"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

resource "aws_iam_role_policy" "api" {
  name   = "milkcast-api"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}

# --- the daily-flow function -------------------------------------------------

data "aws_iam_policy_document" "daily" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_groups.daily}:*"]
  }
  statement {
    sid       = "ReadWriteLake"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [local.lake_objects]
  }
  statement {
    sid       = "ReadModels"
    actions   = ["s3:GetObject"]
    resources = [local.models_objects]
  }
  statement {
    sid       = "WriteReports"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [local.reports_objects]
  }
  statement {
    sid       = "ReadWriteFlowState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [local.state_objects]
  }
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
  }
  statement {
    sid       = "ListModelsReportsAndState"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.models_prefix}/*", "${var.reports_prefix}/*", "${var.state_prefix}/*"]
    }
  }
  statement {
    sid       = "EncryptDecryptBuckets"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
  dynamic "statement" {
    for_each = length(local.parameter_arns) > 0 ? [1] : []
    content {
      sid       = "ReadAlertSecrets"
      actions   = ["ssm:GetParameter", "ssm:GetParameters"]
      resources = local.parameter_arns
    }
  }
  dynamic "statement" {
    for_each = length(local.parameter_arns) > 0 && var.secrets_kms_key_arn != null ? [1] : []
    content {
      sid       = "DecryptAlertSecrets"
      actions   = ["kms:Decrypt"]
      resources = [var.secrets_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "daily" {
  name               = "${var.name}-daily"
  description        = "milkcast daily flow Lambda: lake read/write, models read, reports write, state read/write"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

resource "aws_iam_role_policy" "daily" {
  name   = "milkcast-daily"
  role   = aws_iam_role.daily.id
  policy = data.aws_iam_policy_document.daily.json
}

# --- EventBridge Scheduler ---------------------------------------------------

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeDaily"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.daily_function_arn]
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  description        = "EventBridge Scheduler: invokes the milkcast daily flow"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "milkcast-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# --- training (attach to the CI role or user that runs `milkcast train`) ----

data "aws_iam_policy_document" "trainer" {
  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject"]
    resources = [local.lake_objects]
  }
  statement {
    sid       = "ReadWriteModels"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [local.models_objects]
  }
  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn, var.artifacts_bucket_arn]
  }
  statement {
    sid       = "EncryptDecryptBuckets"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
}

resource "aws_iam_policy" "trainer" {
  name        = "${var.name}-trainer"
  description = "milkcast train: reads the lake, publishes model bundles"
  policy      = data.aws_iam_policy_document.trainer.json
}
