// Reading and writing weight files in the safetensors format (used by PyTorch/JAX users):
//   [u64 little-endian header length N][N bytes JSON header][tensor bytes]
// header: {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//          "__metadata__": {"key": "value", ...}}
// Supported dtypes: F32, F64, F16, BF16, I64, I32, U8, BOOL.
#pragma once

#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace hilserl::nn {

using TensorMap = std::map<std::string, torch::Tensor>;
using Metadata = std::map<std::string, std::string>;

// Writes tensors (moved to CPU, made contiguous) to `path` atomically: a temporary file
// in the same directory is written, flushed and renamed over `path`.
void SaveSafetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});
// Reads every tensor. Throws NotFound (no file) or DataLoss naming the file and the
// problem (truncated, bad header, offsets outside the file, size not matching the shape).
TensorMap LoadSafetensors(const std::string& path, Metadata* metadata = nullptr);

// All named parameters and buffers of a module ("trunk.linears.0.weight", ...), detached.
TensorMap StateDict(const torch::nn::Module& module);
// Copies tensors into the module's parameters and buffers. Every parameter must be present
// with the right shape: a missing tensor or wrong shape throws DataLoss naming the tensor
// (and `source`, e.g. the file). With strict, tensors the module does not have are errors too.
void LoadStateDict(torch::nn::Module& module, const TensorMap& tensors, const std::string& source,
                   bool strict = true, const std::string& prefix = "");

}  // namespace hilserl::nn
