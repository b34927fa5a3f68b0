#include "nn/safetensors.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hilserl::nn {
namespace {

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32}, {"F64", torch::kFloat64}, {"F16", torch::kFloat16},
    {"BF16", torch::kBFloat16}, {"I64", torch::kInt64}, {"I32", torch::kInt32},
    {"U8", torch::kUInt8},      {"BOOL", torch::kBool},
};

const char* DtypeName(torch::ScalarType t) {
  for (const auto& d : kDtypes) {
    if (d.type == t) return d.name;
  }
  throw InvalidArgument(fmt::format("safetensors: unsupported tensor type {}", c10::toString(t)));
}

}  // namespace

void SaveSafetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", DtypeName(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');  // align the data section

  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Unavailable(fmt::format("cannot write '{}'", tmp));
    const uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& c : data) {
      out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
    }
    out.flush();
    if (!out) throw Unavailable(fmt::format("writing '{}' failed (disk full?)", tmp));
  }
  fs::rename(tmp, target);
}

TensorMap LoadSafetensors(const std::string& path, Metadata* metadata) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw NotFound(fmt::format("weights file '{}' does not exist", path));
  const uint64_t file_size = fs::file_size(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Unavailable(fmt::format("cannot open '{}'", path));
  if (file_size < 8) throw DataLoss(fmt::format("'{}' is not a safetensors file: {} bytes", path, file_size));
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > file_size - 8 || n > (100u << 20)) {
    throw DataLoss(fmt::format("'{}': header length {} does not fit in the {}-byte file (truncated or "
                               "not safetensors)", path, n, file_size));
  }
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DataLoss(fmt::format("'{}': header is not valid JSON: {}", path, e.what()));
  }
  if (!header.is_object()) throw DataLoss(fmt::format("'{}': header is not a JSON object", path));
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = file_size - data_start;
  TensorMap out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (metadata != nullptr && info.is_object()) {
        for (const auto& [k, v] : info.items()) (*metadata)[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
      continue;
    }
    try {
      const std::string dtype = info.at("dtype").get<std::string>();
      const std::vector<int64_t> shape = info.at("shape").get<std::vector<int64_t>>();
      const std::vector<uint64_t> offs = info.at("data_offsets").get<std::vector<uint64_t>>();
      torch::ScalarType type = torch::kFloat32;
      bool known = false;
      for (const auto& d : kDtypes) {
        if (dtype == d.name) {
          type = d.type;
          known = true;
        }
      }
      if (!known) throw DataLoss(fmt::format("'{}': tensor '{}' has unsupported dtype '{}'", path, name, dtype));
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_size) {
        throw DataLoss(fmt::format("'{}': tensor '{}' data offsets lie outside the file's {} data bytes "
                                   "(file truncated?)", path, name, data_size));
      }
      // The shape is checked against the bytes the entry has before anything is allocated:
      // a negative or huge dimension in a corrupt header is a file error, not an allocation.
      uint64_t expected = torch::elementSize(type);
      for (int64_t d : shape) {
        if (d < 0) {
          throw DataLoss(fmt::format("'{}': tensor '{}' has a negative dimension in shape [{}]", path, name,
                                     fmt::join(shape, ", ")));
        }
        const uint64_t ud = static_cast<uint64_t>(d);
        if (ud != 0 && expected > (offs[1] - offs[0]) / ud + 1) {
          throw DataLoss(fmt::format("'{}': tensor '{}' of shape [{}] needs more bytes than its {} in the file",
                                     path, name, fmt::join(shape, ", "), offs[1] - offs[0]));
        }
        expected *= ud;
      }
      if (expected != offs[1] - offs[0]) {
        throw DataLoss(fmt::format("'{}': tensor '{}' has {} bytes for shape {} of {} ({} expected)", path,
                                   name, offs[1] - offs[0], fmt::join(shape, "x"), dtype, expected));
      }
      torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
      const uint64_t bytes = t.numel() * t.element_size();
      if (bytes != offs[1] - offs[0]) {
        throw DataLoss(fmt::format("'{}': tensor '{}' has {} bytes for shape {} of {} ({} expected)", path,
                                   name, offs[1] - offs[0], fmt::join(shape, "x"), dtype, bytes));
      }
      in.seekg(static_cast<std::streamoff>(data_start + offs[0]));
      in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
      if (!in) throw DataLoss(fmt::format("'{}': could not read tensor '{}' (file truncated?)", path, name));
      out[name] = t;
    } catch (const nlohmann::json::exception& e) {
      throw DataLoss(fmt::format("'{}': malformed entry for tensor '{}': {}", path, name, e.what()));
    }
  }
  return out;
}

TensorMap StateDict(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters(true)) out[p.key()] = p.value().detach();
  for (const auto& b : module.named_buffers(true)) out[b.key()] = b.value().detach();
  return out;
}

void LoadStateDict(torch::nn::Module& module, const TensorMap& tensors, const std::string& source,
                   bool strict, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  size_t used = 0;
  auto copy = [&](const std::string& key, torch::Tensor& dst) {
    auto it = tensors.find(prefix + key);
    if (it == tensors.end()) {
      throw DataLoss(fmt::format("{}: missing tensor '{}' (shape [{}])", source, prefix + key,
                                 fmt::join(dst.sizes(), ", ")));
    }
    if (it->second.sizes() != dst.sizes()) {
      throw DataLoss(fmt::format("{}: tensor '{}' has shape [{}], expected [{}]", source, prefix + key,
                                 fmt::join(it->second.sizes(), ", "), fmt::join(dst.sizes(), ", ")));
    }
    dst.copy_(it->second.to(dst.device(), dst.scalar_type()));
    ++used;
  };
  for (auto& p : module.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) copy(b.key(), b.value());
  if (strict) {
    size_t with_prefix = 0;
    for (const auto& [k, v] : tensors) with_prefix += k.rfind(prefix, 0) == 0 ? 1 : 0;
    if (with_prefix != used) {
      for (const auto& [k, v] : tensors) {
        if (k.rfind(prefix, 0) != 0) continue;
        const std::string key = k.substr(prefix.size());
        bool known = false;
        for (const auto& p : module.named_parameters(true)) known |= p.key() == key;
        for (const auto& b : module.named_buffers(true)) known |= b.key() == key;
        if (!known) throw DataLoss(fmt::format("{}: unexpected tensor '{}' (not in the network)", source, k));
      }
    }
  }
}

}  // namespace hilserl::nn
