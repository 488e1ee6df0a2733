terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # State lives in S3 (configured per environment at init time:
  # terraform init -backend-config=env/prod.s3.tfbackend). See docs/deploy.md.
  backend "s3" {}
}
