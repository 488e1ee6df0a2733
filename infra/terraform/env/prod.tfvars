# terraform plan -var-file=env/prod.tfvars
environment = "prod"
region      = "us-east-1"

# Deploy a pushed, immutable tag (or set image_uri to REPO@sha256:...).
image_tag     = "2025.04.0"
force_destroy = false

# The bundle the API serves: set after the first `milkcast train` with
# MILKCAST_ARTIFACTS=s3://<artifacts_bucket> (see docs/deploy.md).
# model_uri = "s3://milkcast-prod-artifacts-ACCOUNT/models/bundle-20250401T120000Z-0"

noncurrent_version_expiration_days = 90
reports_transition_days            = 30
reports_expiration_days            = 730
ecr_keep_images                    = 30
log_retention_days                 = 90

api_memory_mb            = 1769 # one full vCPU
api_reserved_concurrency = 50
daily_memory_mb          = 3008
throttle_rate_limit      = 50
throttle_burst_limit     = 100

telegram_chat_id = null # the alert chat, e.g. "-1001234567890" (not a secret)
secret_parameters = {
  MILKCAST_TELEGRAM_TOKEN = "/milkcast/prod/telegram-token"
}

alarm_emails = []

schedule_enabled = true

tags = {
  CostCenter = "milkcast"
}
