variable "name" {
  description = "Prefix of every alarm name, e.g. milkcast-prod."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify; null creates one (NAME-alarms)."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Addresses subscribed to the created topic (each must confirm by mail)."
  type        = list(string)
  default     = []
}

variable "api_id" {
  description = "Id of the HTTP API."
  type        = string
}

variable "api_stage" {
  description = "Stage name of the HTTP API ($default)."
  type        = string
}

variable "api_function_name" {
  description = "The API function."
  type        = string
}

variable "daily_function_name" {
  description = "The daily-flow function."
  type        = string
}

variable "period_s" {
  description = "Period of every alarm's statistic, in seconds."
  type        = number
  default     = 300
}

variable "api_5xx_threshold" {
  description = "5xx answers per period that raise the alarm."
  type        = number
  default     = 5
}

variable "api_latency_p99_ms" {
  description = "p99 API latency (ms) above which the alarm fires (3 periods in a row)."
  type        = number
  default     = 2000
}

variable "api_duration_p99_ms" {
  description = "p99 duration (ms) of the API function above which the alarm fires (3 periods in a row)."
  type        = number
  default     = 1500
}
