// Placeholder: oneDNN kernels land with the classifier engine.
#ifndef RESNET_KERNELS_H
#define RESNET_KERNELS_H
#endif
