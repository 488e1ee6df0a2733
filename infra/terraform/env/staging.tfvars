# terraform plan -var-file=env/staging.tfvars
environment = "staging"
region      = "us-east-1"

image_tag     = "staging"
force_destroy = true

# The bundle the API serves: set after the first `milkcast train` with
# MILKCAST_ARTIFACTS=s3://<artifacts_bucket> (see docs/deploy.md).
# model_uri = "s3://milkcast-staging-artifacts-ACCOUNT/models/bundle-20250401T120000Z-0"

noncurrent_version_expiration_days = 14
reports_transition_days            = 30
reports_expiration_days            = 90
ecr_keep_images                    = 10
log_retention_days                 = 14

api_memory_mb        = 1024
daily_memory_mb      = 2048
throttle_rate_limit  = 10
throttle_burst_limit = 20

# The test bot's chat; the token is a SecureString put there by hand:
#   aws ssm put-parameter --type SecureString --name /milkcast/staging/telegram-token --value ...
telegram_chat_id = null
secret_parameters = {
  MILKCAST_TELEGRAM_TOKEN = "/milkcast/staging/telegram-token"
}

# Staging runs on the same days but stays quiet until switched on.
schedule_enabled = false

tags = {
  CostCenter = "milkcast-staging"
}
