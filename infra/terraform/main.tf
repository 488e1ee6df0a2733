# milkcast on AWS: two buckets (lake, artifacts), the image repository, the
# API function behind an HTTP API, the daily-flow function on a schedule,
# least-privilege roles and alarms.  See docs/deploy.md.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  lake_bucket      = coalesce(var.lake_bucket_name, "${local.name}-lake-${local.account_id}")
  artifacts_bucket = coalesce(var.artifacts_bucket_name, "${local.name}-artifacts-${local.account_id}")

  api_function   = "${local.name}-api"
  daily_function = "${local.name}-daily"
  function_arn   = "arn:${data.aws_partition.current.partition}:lambda:${local.region}:${local.account_id}:function"

  image_uri = coalesce(var.image_uri, "${module.ecr.repository_url}:${var.image_tag}")

  # What both functions see.  The workspace is scratch space in /tmp; the lake
  # and the model bundles live in S3 (the store puts bundles under models/).
  common_env = merge(
    {
      MILKCAST_HOME      = "/tmp/milkcast"
      MILKCAST_LAKE      = "s3://${module.storage.lake_bucket}/${var.lake_prefix}"
      MILKCAST_ARTIFACTS = "s3://${module.storage.artifacts_bucket}"
    },
    var.model_uri == null ? {} : { MILKCAST_MODEL = var.model_uri },
  )
  daily_env = merge(
    local.common_env,
    {
      MILKCAST_REPORTS = "s3://${module.storage.artifacts_bucket}/reports"
      MILKCAST_STATE   = "s3://${module.storage.artifacts_bucket}/state"
    },
    var.telegram_chat_id == null ? {} : { MILKCAST_TELEGRAM_CHAT_ID = var.telegram_chat_id },
    { for k, v in var.secret_parameters : "${k}_PARAMETER" => v },
  )
}

module "storage" {
  source = "./modules/storage"

  name                               = local.name
  lake_bucket_name                   = local.lake_bucket
  artifacts_bucket_name              = local.artifacts_bucket
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  reports_transition_days            = var.reports_transition_days
  reports_expiration_days            = var.reports_expiration_days
}

module "ecr" {
  source = "./modules/ecr"

  name                 = local.name
  keep_tagged_images   = var.ecr_keep_images
  force_delete         = var.force_destroy
  puller_function_arns = ["${local.function_arn}:${local.api_function}", "${local.function_arn}:${local.daily_function}"]
}

module "iam" {
  source = "./modules/iam"

  name                   = local.name
  account_id             = local.account_id
  region                 = local.region
  partition              = data.aws_partition.current.partition
  lake_bucket_arn        = module.storage.lake_bucket_arn
  lake_prefix            = var.lake_prefix
  artifacts_bucket_arn   = module.storage.artifacts_bucket_arn
  kms_key_arn            = module.storage.kms_key_arn
  api_function_name      = local.api_function
  daily_function_name    = local.daily_function
  secret_parameter_names = values(var.secret_parameters)
  secrets_kms_key_arn    = var.secrets_kms_key_arn
  schedule_group_name    = local.name
}

module "api_function" {
  source = "./modules/lambda"

  function_name        = local.api_function
  description          = "milkcast lambda: POST /v1/predict, GET /v1/forecast, GET /healthz"
  image_uri            = local.image_uri
  role_arn             = module.iam.api_role_arn
  architecture         = var.architecture
  memory_mb            = var.api_memory_mb
  timeout_s            = var.api_timeout_s
  reserved_concurrency = var.api_reserved_concurrency
  environment          = local.common_env
  log_retention_days   = var.log_retention_days
}

module "daily_function" {
  source = "./modules/lambda"

  function_name        = local.daily_function
  description          = "milkcast flow run daily: fetch, ingest, predict, monitor, alert"
  image_uri            = local.image_uri
  role_arn             = module.iam.daily_role_arn
  architecture         = var.architecture
  memory_mb            = var.daily_memory_mb
  timeout_s            = var.daily_timeout_s
  ephemeral_storage_mb = var.daily_ephemeral_storage_mb
  command              = var.daily_command
  # One flow at a time (daily_reserved_concurrency); a failed run is not
  # replayed by Lambda (the flow retries its own tasks, and the Errors alarm
  # reports the failure).
  reserved_concurrency = var.daily_reserved_concurrency
  async_retries        = 0
  environment          = local.daily_env
  log_retention_days   = var.log_retention_days
}

module "api" {
  source = "./modules/api"

  name                 = local.name
  function_name        = module.api_function.function_name
  invoke_arn           = module.api_function.invoke_arn
  throttle_rate_limit  = var.throttle_rate_limit
  throttle_burst_limit = var.throttle_burst_limit
  log_retention_days   = var.log_retention_days
}

module "monitoring" {
  source = "./modules/monitoring"

  name                = local.name
  alarm_topic_arn     = var.alarm_topic_arn
  alarm_emails        = var.alarm_emails
  api_id              = module.api.api_id
  api_stage           = module.api.stage_name
  api_function_name   = module.api_function.function_name
  daily_function_name = module.daily_function.function_name
  api_5xx_threshold   = var.api_5xx_threshold
  api_latency_p99_ms  = var.api_latency_p99_ms
  api_duration_p99_ms = var.api_duration_p99_ms
}

module "schedule" {
  source = "./modules/schedule"

  name         = local.name
  function_arn = module.daily_function.function_arn
  role_arn     = module.iam.scheduler_role_arn
  expression   = var.schedule_expression
  timezone     = var.schedule_timezone
  enabled      = var.schedule_enabled
}
