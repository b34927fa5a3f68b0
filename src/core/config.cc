#include "core/config.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

ConfigNode::ConfigNode(YAML::Node node, std::string source, std::string path,
                       std::shared_ptr<std::set<std::string>> overridden)
    : node_(std::move(node)),
      source_(std::move(source)),
      path_(std::move(path)),
      overridden_(overridden ? std::move(overridden) : std::make_shared<std::set<std::string>>()) {}

std::string ConfigNode::KeyLocation(const std::string& key, const YAML::Node& value) const {
  const std::string full = path_.empty() ? key : path_ + "." + key;
  if (overridden_->count(full)) return fmt::format("given by --set {}", full);
  return fmt::format("line {}", value.Mark().line + 1);
}

ConfigNode ConfigNode::FromFile(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw NotFound(fmt::format("config file '{}' does not exist", path));
  }
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) {
      throw InvalidArgument(fmt::format("{}: expected a mapping of keys at the top level", path));
    }
    return ConfigNode(root, path, "");
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("{}:{}:{}: YAML syntax error: {}", path, e.mark.line + 1,
                                      e.mark.column + 1, e.msg));
  }
}

ConfigNode ConfigNode::FromString(const std::string& text, const std::string& source) {
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) {
      throw InvalidArgument(fmt::format("{}: expected a mapping of keys at the top level", source));
    }
    return ConfigNode(root, source, "");
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("{}:{}:{}: YAML syntax error: {}", source, e.mark.line + 1,
                                      e.mark.column + 1, e.msg));
  }
}

ConfigNode ConfigNode::Empty(const std::string& source) {
  return ConfigNode(YAML::Node(YAML::NodeType::Map), source, "");
}

std::string ConfigNode::where() const {
  return path_.empty() ? source_ : fmt::format("{}: section '{}'", source_, path_);
}

bool ConfigNode::Has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

YAML::Node ConfigNode::Lookup(const std::string& key) {
  used_.insert(key);
  if (!node_.IsMap()) return YAML::Node();
  return node_[key];
}

void ConfigNode::TypeError(const std::string& key, const std::string& expected) const {
  const YAML::Node v = node_[key];
  std::string found = v.IsScalar() ? fmt::format("'{}'", v.Scalar())
                      : v.IsSequence() ? "a list"
                      : v.IsMap()      ? "a mapping"
                                       : "nothing";
  throw InvalidArgument(fmt::format("{}: key '{}' ({}): expected {}, found {}", where(), key,
                                    KeyLocation(key, v), expected, found));
}

namespace {
template <typename T>
bool TryAs(const YAML::Node& n, T* out) {
  if (!n.IsScalar()) return false;
  try {
    *out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}
}  // namespace

void ConfigNode::Get(const std::string& key, double* value) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  double v = 0;
  if (!TryAs(n, &v)) TypeError(key, "a number");
  if (!std::isfinite(v)) TypeError(key, "a finite number");
  *value = v;
}

void ConfigNode::Get(const std::string& key, float* value) {
  double d = *value;
  Get(key, &d);
  *value = static_cast<float>(d);
}

void ConfigNode::Get(const std::string& key, int* value) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!TryAs(n, value)) TypeError(key, "an integer");
}

void ConfigNode::Get(const std::string& key, bool* value) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!TryAs(n, value)) TypeError(key, "true or false");
}

void ConfigNode::Get(const std::string& key, std::string* value) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!TryAs(n, value)) TypeError(key, "a string");
}

void ConfigNode::Get(const std::string& key, std::vector<double>* value) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) TypeError(key, "a list of numbers");
  std::vector<double> out;
  for (const auto& e : n) {
    double d;
    if (!TryAs(e, &d)) TypeError(key, "a list of numbers");
    if (!std::isfinite(d)) TypeError(key, "a list of finite numbers");
    out.push_back(d);
  }
  *value = std::move(out);
}

void ConfigNode::Get(const std::string& key, std::vector<std::string>* value) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) TypeError(key, "a list of strings");
  std::vector<std::string> out;
  for (const auto& e : n) {
    std::string s;
    if (!TryAs(e, &s)) TypeError(key, "a list of strings");
    out.push_back(s);
  }
  *value = std::move(out);
}

void ConfigNode::GetFixed(const std::string& key, size_t size, std::vector<double>* value) {
  std::vector<double> v = *value;
  Get(key, &v);
  if (v.size() != size) {
    throw InvalidArgument(fmt::format("{}: key '{}': expected a list of {} numbers, found {}",
                                      where(), key, size, v.size()));
  }
  *value = std::move(v);
}

ConfigNode ConfigNode::Child(const std::string& key) {
  YAML::Node n = Lookup(key);
  const std::string path = path_.empty() ? key : path_ + "." + key;
  if (!n.IsDefined() || n.IsNull()) return ConfigNode(YAML::Node(YAML::NodeType::Map), source_, path, overridden_);
  if (!n.IsMap()) TypeError(key, "a mapping of keys");
  return ConfigNode(n, source_, path, overridden_);
}

void ConfigNode::Set(const std::string& dotted_key, const std::string& yaml_value) {
  YAML::Node value;
  try {
    value = YAML::Load(yaml_value);
  } catch (const YAML::Exception& e) {
    throw InvalidArgument(fmt::format("override '{}={}': not a valid YAML value: {}", dotted_key,
                                      yaml_value, e.msg));
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted_key.find('.', start);
    parts.push_back(dotted_key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts) {
    if (p.empty()) throw InvalidArgument(fmt::format("override key '{}' has an empty part", dotted_key));
  }
  // yaml-cpp nodes are handles: walk with fresh handles, never reassign one in place.
  std::vector<YAML::Node> chain{node_};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
      throw InvalidArgument(fmt::format("override '{}': '{}' is not a section", dotted_key, parts[i]));
    }
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
  const std::string prefix = path_.empty() ? "" : path_ + ".";
  overridden_->insert(prefix + dotted_key);
}

void ConfigNode::SetFromAssignment(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw InvalidArgument(fmt::format("override '{}' must look like section.key=value", assignment));
  }
  Set(assignment.substr(0, eq), assignment.substr(eq + 1));
}

std::string ConfigNode::ToYaml() const {
  YAML::Emitter out;
  out << node_;
  return out.c_str();
}

void ConfigNode::CheckNoUnknownKeys() const {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string key = kv.first.as<std::string>();
    if (used_.count(key) == 0) {
      std::string known;
      for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
      throw InvalidArgument(fmt::format("{}: unknown key '{}' ({}); known keys here: {}",
                                        where(), key, KeyLocation(key, kv.first),
                                        known.empty() ? "(none)" : known));
    }
  }
}

}  // namespace hilserl
