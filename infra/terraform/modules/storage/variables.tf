variable "name" {
  description = "Prefix of every resource name, e.g. milkcast-prod."
  type        = string
}

variable "lake_bucket_name" {
  description = "Name of the lake bucket (the Parquet lake lives under lake/)."
  type        = string
}

variable "artifacts_bucket_name" {
  description = "Name of the artifacts bucket (model bundles under models/, reports under reports/)."
  type        = string
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets (staging only; keep false in prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which an overwritten or deleted object version is removed."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be 1 or more."
  }
}

variable "reports_transition_days" {
  description = "Days after which objects under reports/ move to STANDARD_IA (30 or more, S3's minimum)."
  type        = number
  default     = 30

  validation {
    condition     = var.reports_transition_days >= 30
    error_message = "reports_transition_days must be 30 or more (S3 refuses STANDARD_IA transitions before 30 days)."
  }
}

variable "reports_expiration_days" {
  description = "Days after which objects under reports/ are deleted."
  type        = number
  default     = 365
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads are aborted."
  type        = number
  default     = 7
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the bucket key is deleted after a destroy (7-30)."
  type        = number
  default     = 30
}
