// Self-supervised pretraining of the ResNet-10 backbone (no ImageNet weights can be
// downloaded on these machines): contrastive learning in the SimCLR style on the user's
// own frames. Two random augmentations of each frame (random resized crop, small shift,
// brightness/contrast jitter) go through ResNet-10 -> global average pool -> projection
// MLP (512 -> 256 -> 128); the NT-Xent loss pulls the two views of a frame together and
// pushes the other frames of the batch away. Only the backbone is kept (safetensors with
// the tensor names of nn/resnet.h), ready for `encoder.weights`.
//
// Training runs at `train_size` (default 64 px, 4x cheaper than 128 on a CPU); the
// convolutions and GroupNorm are resolution-agnostic, so the backbone is then used on
// 128x128 frames.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/types.h"
#include "nn/safetensors.h"

namespace hilserl::nn {

struct PretrainOptions {
  int steps = 300;
  int batch = 32;          // frames per step (2 views each)
  int train_size = 64;     // pixels, multiple of 32
  double lr = 1e-3;
  double temperature = 0.1;
  uint64_t seed = 0;
};

struct PretrainResult {
  double first_loss = 0, final_loss = 0;      // NT-Xent, mean over the first / last 10% of steps
  double first_accuracy = 0, final_accuracy = 0;  // how often a view's nearest neighbour is its twin
  double seconds = 0;
  TensorMap backbone;                          // ResNet-10 weights
};

// frames: RGB images of any one size >= train_size. `progress(step, loss, accuracy)` is
// called after every step (may be null).
PretrainResult PretrainBackbone(const std::vector<Image>& frames, const PretrainOptions& options,
                                const std::function<void(int, double, double)>& progress = nullptr);

}  // namespace hilserl::nn
