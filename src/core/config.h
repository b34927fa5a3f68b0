// Reading option structs from YAML with strict checking.
//
// Usage (see envs/pick_cube.cc): each option struct has FromConfig(ConfigNode&) that Get()s
// its keys, then calls node.CheckNoUnknownKeys(); a misspelt key is an error naming the
// file, the section and the keys that are allowed, never silently ignored.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace hilserl {

class ConfigNode {
 public:
  // Parses a YAML file. Throws NotFound (no such file) or InvalidArgument (syntax error,
  // with line and column).
  static ConfigNode FromFile(const std::string& path);
  // Parses YAML text; `source` names it in error messages.
  static ConfigNode FromString(const std::string& text, const std::string& source);
  // An empty mapping (all options keep their defaults).
  static ConfigNode Empty(const std::string& source);

  bool Has(const std::string& key) const;
  // Reads `key` into *value if present (leaves the default otherwise). Throws
  // InvalidArgument naming file, section, key and line (or the --set flag that gave it)
  // if the value has the wrong type; numbers must be finite (no .inf or .nan).
  void Get(const std::string& key, double* value);
  void Get(const std::string& key, float* value);
  void Get(const std::string& key, int* value);
  void Get(const std::string& key, bool* value);
  void Get(const std::string& key, std::string* value);
  void Get(const std::string& key, std::vector<double>* value);
  void Get(const std::string& key, std::vector<std::string>* value);
  // Like Get for a fixed-size list; throws if the list has another length.
  void GetFixed(const std::string& key, size_t size, std::vector<double>* value);

  // A nested mapping (an empty one if absent). Marks `key` as used.
  ConfigNode Child(const std::string& key);
  // Throws InvalidArgument if any key of this mapping was never read.
  void CheckNoUnknownKeys() const;

  // Sets a (possibly nested, dot-separated) key to a YAML value before options are read,
  // e.g. Set("env.obs_mode", "pixels") or Set("env.cube_x_range", "[0.3, 0.4]"). This is
  // how command-line flags override a config file.
  void Set(const std::string& dotted_key, const std::string& yaml_value);
  // Parses "key=value" (a --set flag) and calls Set. Throws InvalidArgument if no '='.
  void SetFromAssignment(const std::string& assignment);

  // The YAML text of this node (overrides included), e.g. to store a run's config.
  std::string ToYaml() const;

  // "file.yaml: env.cube" style location for messages.
  std::string where() const;
  const std::string& source() const { return source_; }

 private:
  ConfigNode(YAML::Node node, std::string source, std::string path,
             std::shared_ptr<std::set<std::string>> overridden = nullptr);
  std::string KeyLocation(const std::string& key, const YAML::Node& value) const;
  YAML::Node Lookup(const std::string& key);
  [[noreturn]] void TypeError(const std::string& key, const std::string& expected) const;

  YAML::Node node_;
  std::string source_;
  std::string path_;
  std::set<std::string> used_;
  // Dotted paths of the keys Set() gave a value (shared by copies and children), so an
  // error names the --set flag instead of a line of the file.
  std::shared_ptr<std::set<std::string>> overridden_;
};

}  // namespace hilserl
