output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = local.topic_arn
}

output "alarm_names" {
  description = "Names of every alarm."
  value = concat(
    [aws_cloudwatch_metric_alarm.api_5xx.alarm_name, aws_cloudwatch_metric_alarm.api_latency.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.throttles : a.alarm_name],
    [aws_cloudwatch_metric_alarm.api_duration.alarm_name],
  )
}
