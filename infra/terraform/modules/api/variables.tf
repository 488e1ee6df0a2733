variable "name" {
  description = "Name of the HTTP API, e.g. milkcast-prod."
  type        = string
}

variable "function_name" {
  description = "The Lambda function behind every route."
  type        = string
}

variable "invoke_arn" {
  description = "The function's invoke ARN."
  type        = string
}

variable "routes" {
  description = "Route keys served by the function (METHOD /path)."
  type        = list(string)
  default     = ["POST /v1/predict", "GET /v1/forecast", "GET /healthz"]
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second allowed on every route."
  type        = number
  default     = 50
}

variable "throttle_burst_limit" {
  description = "Burst of requests allowed on every route."
  type        = number
  default     = 100
}

variable "integration_timeout_ms" {
  description = "How long API Gateway waits for the function (50-30000 ms)."
  type        = number
  default     = 29000

  validation {
    condition     = var.integration_timeout_ms >= 50 && var.integration_timeout_ms <= 30000
    error_message = "integration_timeout_ms must be between 50 and 30000."
  }
}

variable "log_retention_days" {
  description = "Retention of the access log group."
  type        = number
  default     = 30
}
