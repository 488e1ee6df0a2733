# The daily flow on EventBridge Scheduler: SNIIM publishes around midday in
# Mexico City; the schedule reads its cron in that zone, so it follows the
# zone's rules instead of a fixed UTC offset.

resource "aws_scheduler_schedule_group" "this" {
  name = var.name
}

resource "aws_scheduler_schedule" "daily" {
  name       = "${var.name}-daily"
  group_name = aws_scheduler_schedule_group.this.name

  description                  = "milkcast flow run daily"
  schedule_expression          = var.expression
  schedule_expression_timezone = var.timezone
  state                        = var.enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.function_arn
    role_arn = var.role_arn
    input    = var.input

    retry_policy {
      maximum_retry_attempts       = var.retry_attempts
      maximum_event_age_in_seconds = var.max_event_age_s
    }
  }
}
