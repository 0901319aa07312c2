#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace roomcast::cli {

// A subcommand's arguments: `--name value`, `--name=value` (repeatable, in
// order) and `--switch`. absl flags cannot repeat a flag, which
// `--room a --room b` needs; this is all the parsing the command needs.
class Arguments {
 public:
  // `options` take a value, `switches` none; anything else is an error
  // (a typo such as --rooms must not quietly widen an emit).
  static absl::StatusOr<Arguments> Parse(const std::vector<std::string>& args,
                                         const std::vector<std::string>& options,
                                         const std::vector<std::string>& switches);

  bool Has(const std::string& name) const { return values_.contains(name); }
  std::vector<std::string> All(const std::string& name) const;
  std::optional<std::string> One(const std::string& name) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace roomcast::cli
