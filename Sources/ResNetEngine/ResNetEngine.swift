// Placeholder: the ResNet engine lands with the classifier work.
