output "api_url" {
  description = "Base URL of the HTTP API: POST {api_url}/v1/predict, GET {api_url}/v1/forecast, GET {api_url}/healthz."
  value       = module.api.api_url
}

output "lake_bucket" {
  description = "The lake bucket."
  value       = module.storage.lake_bucket
}

output "artifacts_bucket" {
  description = "The artifacts bucket (models/, reports/)."
  value       = module.storage.artifacts_bucket
}

output "milkcast_lake" {
  description = "MILKCAST_LAKE for machines that share this lake."
  value       = local.common_env.MILKCAST_LAKE
}

output "milkcast_artifacts" {
  description = "MILKCAST_ARTIFACTS for machines that train or predict with these models."
  value       = local.common_env.MILKCAST_ARTIFACTS
}

output "ecr_repository_url" {
  description = "Where to push the milkcast image."
  value       = module.ecr.repository_url
}

output "api_function_name" {
  description = "The API function."
  value       = module.api_function.function_name
}

output "daily_function_name" {
  description = "The daily-flow function."
  value       = module.daily_function.function_name
}

output "schedule_name" {
  description = "The daily schedule (in its group)."
  value       = "${module.schedule.schedule_group}/${module.schedule.schedule_name}"
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.alarm_topic_arn
}

output "alarm_names" {
  description = "Every CloudWatch alarm."
  value       = module.monitoring.alarm_names
}

output "trainer_policy_arn" {
  description = "Attach to the role or user that runs milkcast train."
  value       = module.iam.trainer_policy_arn
}

output "kms_key_arn" {
  description = "Key of both buckets (grant kms:Decrypt/GenerateDataKey to other readers and writers)."
  value       = module.storage.kms_key_arn
}
