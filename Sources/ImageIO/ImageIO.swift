// Placeholder: image I/O lands with the seed-sampler work.
