output "api_role_arn" {
  description = "Execution role of the API function."
  value       = aws_iam_role.api.arn
}

output "api_role_name" {
  description = "Name of the API function's role."
  value       = aws_iam_role.api.name
}

output "daily_role_arn" {
  description = "Execution role of the daily-flow function."
  value       = aws_iam_role.daily.arn
}

output "daily_role_name" {
  description = "Name of the daily-flow function's role."
  value       = aws_iam_role.daily.name
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler assumes to invoke the daily flow."
  value       = aws_iam_role.scheduler.arn
}

output "trainer_policy_arn" {
  description = "Managed policy for whoever runs milkcast train (not attached here)."
  value       = aws_iam_policy.trainer.arn
}
