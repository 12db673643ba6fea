// harness_prompts.cpp: harness entry for `batch` prompt files: every item's line is parsed and
// turned into a Request on default settings; the first unusable item is the rejection.
#include "batch_items.h"
#include "fuzz/harness.h"

namespace pangu_draw::fuzz {

void parse_prompts(const std::string& bytes) {
  const auto items = cli::parse_items(bytes);
  std::string first_error;
  for (const auto& item : items) {
    try {
      if (!item.error.empty()) throw Error(ErrorKind::Usage, item.error);
      (void)cli::item_request(item.spec, Request{});
      (void)item.spec.dump();  // the manifest writes each spec back
    } catch (const Error& e) {
      if (first_error.empty()) first_error = "line " + std::to_string(item.line) + ": " + e.what();
    }
  }
  if (!first_error.empty()) throw Error(ErrorKind::Usage, first_error);
}

}  // namespace pangu_draw::fuzz
