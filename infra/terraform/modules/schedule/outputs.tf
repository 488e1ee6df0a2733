output "schedule_name" {
  description = "Name of the daily schedule."
  value       = aws_scheduler_schedule.daily.name
}

output "schedule_group" {
  description = "Its schedule group."
  value       = aws_scheduler_schedule_group.this.name
}
