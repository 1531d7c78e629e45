#include "resnet_kernels.h"
