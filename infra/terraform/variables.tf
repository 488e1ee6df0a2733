# --- where and what ----------------------------------------------------------

variable "project" {
  description = "Prefix of every resource name."
  type        = string
  default     = "milkcast"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "environment" {
  description = "staging or prod."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

# --- storage -----------------------------------------------------------------

variable "lake_bucket_name" {
  description = "Lake bucket; null: PROJECT-ENVIRONMENT-lake-ACCOUNT."
  type        = string
  default     = null
}

variable "artifacts_bucket_name" {
  description = "Artifacts bucket; null: PROJECT-ENVIRONMENT-artifacts-ACCOUNT."
  type        = string
  default     = null
}

variable "lake_prefix" {
  description = "Key prefix of the lake in its bucket (MILKCAST_LAKE=s3://LAKE_BUCKET/PREFIX)."
  type        = string
  default     = "lake"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]*$", var.lake_prefix))
    error_message = "lake_prefix must be one path segment: lowercase letters, digits, '.', '_' or '-'."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets and the image repository (never in prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 90
}

variable "reports_transition_days" {
  description = "Days after which reports/ objects move to STANDARD_IA (30 or more)."
  type        = number
  default     = 30
}

variable "reports_expiration_days" {
  description = "Days after which reports/ objects are deleted."
  type        = number
  default     = 365
}

# --- image -------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the milkcast image in this environment's ECR repository (tags are immutable: one tag per release); ignored when image_uri is set."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a Docker tag: letters, digits, '_', '.' or '-', at most 128, not starting with '.' or '-'."
  }
}

variable "image_uri" {
  description = "Full image URI (REPO@sha256:... or REPO:TAG); null: the ECR repository with image_tag."
  type        = string
  default     = null
}

variable "ecr_keep_images" {
  description = "Tagged images the repository keeps."
  type        = number
  default     = 30
}

variable "architecture" {
  description = "x86_64 or arm64, as the image was built."
  type        = string
  default     = "x86_64"
}

# --- functions ---------------------------------------------------------------

variable "model_uri" {
  description = "MILKCAST_MODEL of both functions: the bundle to serve (s3://ARTIFACTS/models/bundle-..., or a directory baked into the image). Without it `milkcast lambda` finds no champion in its empty /tmp workspace and fails at init."
  type        = string
  default     = null
}

variable "api_memory_mb" {
  description = "Memory of the API function (MB)."
  type        = number
  default     = 1024
}

variable "api_timeout_s" {
  description = "Timeout of the API function (s); API Gateway waits at most 30 s."
  type        = number
  default     = 29
}

variable "api_reserved_concurrency" {
  description = "Reserved concurrency of the API function (-1: unreserved); caps cost and protects other functions. Needs an account concurrency quota above 100."
  type        = number
  default     = -1
}

variable "daily_memory_mb" {
  description = "Memory of the daily-flow function (MB)."
  type        = number
  default     = 2048
}

variable "daily_timeout_s" {
  description = "Timeout of the daily-flow function (s, at most 900)."
  type        = number
  default     = 900
}

variable "daily_ephemeral_storage_mb" {
  description = "/tmp of the daily-flow function (MB): the workspace with the lake copy lives there."
  type        = number
  default     = 2048
}

variable "daily_reserved_concurrency" {
  description = "Reserved concurrency of the daily-flow function: 1 keeps two flows from running at once (-1: unreserved). Any reservation needs an account concurrency quota above 100 (new accounts have 10)."
  type        = number
  default     = 1
}

variable "daily_command" {
  description = "Arguments the daily-flow function gives the image's entry point (milkcast lambda): --run makes each invocation run this milkcast command."
  type        = list(string)
  default     = ["--run", "flow", "run", "daily"]
}

variable "log_retention_days" {
  description = "Retention of every log group (days)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's values (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

# --- alerts (no secret values here: only where they are kept) ---------------

variable "telegram_chat_id" {
  description = "MILKCAST_TELEGRAM_CHAT_ID of the daily flow (not a secret); null: not set."
  type        = string
  default     = null
}

variable "secret_parameters" {
  description = <<-EOT
    Secrets of the daily flow as SSM Parameter Store SecureString names, by the
    environment variable they stand for, e.g. { MILKCAST_TELEGRAM_TOKEN =
    "/milkcast/prod/telegram-token" }. The function gets NAME_PARAMETER=/path
    (never the value) and may read exactly these parameters.
  EOT
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.secret_parameters) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "secret_parameters keys must be environment variable names (A-Z, 0-9, _)."
  }
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key of those parameters; null when they use aws/ssm."
  type        = string
  default     = null
}

# --- API ---------------------------------------------------------------------

variable "throttle_rate_limit" {
  description = "Requests per second allowed on each route."
  type        = number
  default     = 50
}

variable "throttle_burst_limit" {
  description = "Burst allowed on each route."
  type        = number
  default     = 100
}

# --- alarms ------------------------------------------------------------------

variable "alarm_topic_arn" {
  description = "SNS topic for the alarms; null creates PROJECT-ENVIRONMENT-alarms."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Addresses subscribed to the created alarm topic."
  type        = list(string)
  default     = []
}

variable "api_5xx_threshold" {
  description = "5xx answers in 5 minutes that raise the alarm."
  type        = number
  default     = 5
}

variable "api_latency_p99_ms" {
  description = "p99 latency of the API (ms) that raises the alarm."
  type        = number
  default     = 2000
}

variable "api_duration_p99_ms" {
  description = "p99 duration of the API function (ms) that raises the alarm."
  type        = number
  default     = 1500
}

# --- schedule ----------------------------------------------------------------

variable "schedule_expression" {
  description = "When the daily flow runs."
  type        = string
  default     = "cron(0 13 ? * MON,WED,FRI *)"
}

variable "schedule_timezone" {
  description = "Zone of schedule_expression."
  type        = string
  default     = "America/Mexico_City"
}

variable "schedule_enabled" {
  description = "false: the schedule exists but does not fire."
  type        = bool
  default     = true
}
