variable "name" {
  description = "Name of the schedule group (and prefix of the schedule), e.g. milkcast-prod."
  type        = string
}

variable "function_arn" {
  description = "The daily-flow Lambda function."
  type        = string
}

variable "role_arn" {
  description = "Role EventBridge Scheduler assumes to invoke it."
  type        = string
}

variable "expression" {
  description = "When the daily flow runs (EventBridge Scheduler syntax)."
  type        = string
  default     = "cron(0 13 ? * MON,WED,FRI *)"
}

variable "timezone" {
  description = "IANA zone the expression is read in."
  type        = string
  default     = "America/Mexico_City"
}

variable "enabled" {
  description = "false keeps the schedule but never fires it."
  type        = bool
  default     = true
}

variable "retry_attempts" {
  description = "Times Scheduler retries an invocation Lambda refused (throttled, unavailable), 0-185."
  type        = number
  default     = 3
}

variable "max_event_age_s" {
  description = "Give up retrying after this many seconds (60-86400)."
  type        = number
  default     = 3600
}

variable "input" {
  description = "JSON event passed to the function."
  type        = string
  default     = "{\"source\":\"milkcast.schedule\",\"flow\":\"daily\"}"
}
