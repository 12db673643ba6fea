// fixtures.cpp: locating the reference fixtures and comparing tensors against them.
#include "support/fixtures.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace pangu_draw::testing {

std::string fixtures_root() {
  if (const char* env = std::getenv("PANGU_FIXTURES"); env && *env) return env;
#ifdef PD_DEFAULT_FIXTURES
  return PD_DEFAULT_FIXTURES;
#else
  return "../shared/fixtures";
#endif
}

std::vector<std::string> fixture_sets() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fixtures_root())) {
    if (fs::exists(e.path() / "model") && fs::exists(e.path() / "reference")) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string model_dir(const std::string& set) { return fixtures_root() + "/" + set + "/model"; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

nlohmann::json cases(const std::string& set) {
  return read_json(fixtures_root() + "/" + set + "/reference/cases.json");
}

nlohmann::json tokens(const std::string& set) {
  return read_json(fixtures_root() + "/" + set + "/reference/tokens.json");
}

Reference::Reference(const std::string& set)
    : file_(io::SafetensorsFile::open(fixtures_root() + "/" + set +
                                      "/reference/reference.safetensors")) {}

torch::Tensor Reference::get(const std::string& key) const { return file_->load(key); }

std::vector<std::string> Reference::keys_with_prefix(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& n : file_->names()) {
    if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
  }
  return out;
}

::testing::AssertionResult close_to(const torch::Tensor& actual, const torch::Tensor& expected,
                                    double rel_tol, const std::string& what) {
  auto a = actual.detach().to(torch::kFloat).cpu().contiguous();
  auto e = expected.detach().to(torch::kFloat).cpu().contiguous();
  if (a.sizes() != e.sizes()) {
    return ::testing::AssertionFailure()
           << what << ": shape " << a.sizes() << " != expected " << e.sizes();
  }
  if (!torch::isfinite(a).all().item<bool>()) {
    return ::testing::AssertionFailure() << what << ": result has NaN/Inf";
  }
  const double scale = e.abs().max().item<double>();
  auto diff = (a - e).abs().flatten();
  const int64_t idx = diff.argmax().item<int64_t>();
  const double max_diff = diff[idx].item<double>();
  const double tol = rel_tol * std::max(scale, 1e-12);
  std::ostringstream os;
  os << what << ": max diff " << max_diff << " at flat index " << idx << " (got "
     << a.flatten()[idx].item<double>() << ", want " << e.flatten()[idx].item<double>()
     << "), tolerance " << tol << " = " << rel_tol << " x max|ref| " << scale;
  if (max_diff <= tol) return ::testing::AssertionSuccess() << os.str();
  return ::testing::AssertionFailure() << os.str();
}

std::string temp_dir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pd_" + tag + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

}  // namespace pangu_draw::testing
