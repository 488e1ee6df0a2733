variable "function_name" {
  description = "Name of the function (its log group is /aws/lambda/NAME)."
  type        = string
}

variable "description" {
  description = "What the function does."
  type        = string
  default     = ""
}

variable "image_uri" {
  description = "The milkcast container image (ECR URI with tag or digest)."
  type        = string
}

variable "role_arn" {
  description = "Execution role."
  type        = string
}

variable "memory_mb" {
  description = "Memory in MB (128-10240); CPU grows with it."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_s" {
  description = "Timeout in seconds (1-900)."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout_s >= 1 && var.timeout_s <= 900
    error_message = "timeout_s must be between 1 and 900."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB (512-10240): the workspace lives there."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240
    error_message = "ephemeral_storage_mb must be between 512 and 10240."
  }
}

variable "architecture" {
  description = "x86_64 or arm64: must match the image."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "environment" {
  description = "Environment variables (no secrets: they are stored in the state and shown in the console)."
  type        = map(string)
  default     = {}
}

variable "command" {
  description = "Overrides the image's CMD (null: the image's own)."
  type        = list(string)
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (-1: unreserved)."
  type        = number
  default     = -1
}

variable "async_retries" {
  description = "Retries of a failed asynchronous invocation (0-2); null leaves Lambda's default."
  type        = number
  default     = null
}

variable "async_max_event_age_s" {
  description = "Age after which an asynchronous event is dropped (60-21600)."
  type        = number
  default     = 21600
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30
}
