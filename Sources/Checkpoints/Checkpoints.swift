// Placeholder: checkpoint readers land with the classifier work.
