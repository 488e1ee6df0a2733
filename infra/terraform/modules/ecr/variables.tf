variable "name" {
  description = "Repository name, e.g. milkcast-prod."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many tagged images the lifecycle policy keeps (the newest)."
  type        = number
  default     = 30
}

variable "untagged_expiration_days" {
  description = "Days after which untagged images are deleted."
  type        = number
  default     = 7
}

variable "force_delete" {
  description = "Let terraform destroy delete a repository that still holds images."
  type        = bool
  default     = false
}

variable "puller_function_arns" {
  description = "Lambda functions allowed to pull images from the repository (same account)."
  type        = list(string)
  default     = []
}
