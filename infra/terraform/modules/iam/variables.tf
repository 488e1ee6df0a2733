variable "name" {
  description = "Prefix of every resource name, e.g. milkcast-prod."
  type        = string
}

variable "account_id" {
  description = "AWS account id (for ARNs of resources created elsewhere)."
  type        = string
}

variable "region" {
  description = "AWS region of the deployment."
  type        = string
}

variable "partition" {
  description = "AWS partition (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"
}

variable "lake_bucket_arn" {
  description = "ARN of the lake bucket."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the Parquet lake in the lake bucket (MILKCAST_LAKE=s3://BUCKET/PREFIX)."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket (MILKCAST_ARTIFACTS=s3://BUCKET)."
  type        = string
}

variable "models_prefix" {
  description = "Key prefix of the model bundles in the artifacts bucket."
  type        = string
  default     = "models"
}

variable "reports_prefix" {
  description = "Key prefix of the daily flow's reports in the artifacts bucket."
  type        = string
  default     = "reports"
}

variable "state_prefix" {
  description = "Key prefix of the daily flow's history (a milkcast.db snapshot) in the artifacts bucket."
  type        = string
  default     = "state"
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting both buckets."
  type        = string
}

variable "api_function_name" {
  description = "Name of the API Lambda function (its log group is /aws/lambda/NAME)."
  type        = string
}

variable "daily_function_name" {
  description = "Name of the daily-flow Lambda function."
  type        = string
}

variable "secret_parameter_names" {
  description = "SSM Parameter Store names (SecureString) the daily flow may read, e.g. the Telegram token."
  type        = list(string)
  default     = []
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key of those parameters; null when they use the AWS-managed aws/ssm key."
  type        = string
  default     = null
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group whose schedules may assume the scheduler role."
  type        = string
}
