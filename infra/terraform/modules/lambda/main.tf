# One milkcast function from the container image, with its log group created
# first (so Lambda never creates one without retention).

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "this" {
  function_name                  = var.function_name
  description                    = var.description
  package_type                   = "Image"
  image_uri                      = var.image_uri
  role                           = var.role_arn
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_s
  architectures                  = [var.architecture]
  reserved_concurrent_executions = var.reserved_concurrency

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  dynamic "image_config" {
    for_each = var.command == null ? [] : [var.command]
    content {
      command = image_config.value
    }
  }

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []
    content {
      variables = environment.value
    }
  }

  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.async_retries == null ? 0 : 1

  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_retries
  maximum_event_age_in_seconds = var.async_max_event_age_s
}
