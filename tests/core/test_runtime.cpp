// Runtime settings: explicit thread counts, dtype and device names.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/runtime.h"
#include "core/tensor_check.h"

namespace core = pangu_draw::core;

// Restores an environment variable when the test ends (ctest sets OMP_NUM_THREADS=1).
class ScopedEnv {
 public:
  explicit ScopedEnv(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) saved_ = v;
  }
  ~ScopedEnv() {
    if (saved_) setenv(name_, saved_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(Runtime, ThreadCountIsSetExplicitly) {
  ScopedEnv keep("OMP_NUM_THREADS");
  unsetenv("OMP_NUM_THREADS");
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(core::configure_threads(0), all);
  EXPECT_EQ(at::get_num_threads(), all);
  EXPECT_EQ(core::configure_threads(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_THROW(core::configure_threads(-2), pangu_draw::Error);
  core::configure_threads(0);
}

// --threads 0 takes $OMP_NUM_THREADS when it is a positive number (processes run side by side
// split the cores so); anything else in it falls back to all cores.
TEST(Runtime, ZeroThreadsFollowsOmpNumThreads) {
  ScopedEnv keep("OMP_NUM_THREADS");
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  setenv("OMP_NUM_THREADS", "3", 1);
  EXPECT_EQ(core::configure_threads(0), 3);
  EXPECT_EQ(at::get_num_threads(), 3);
  EXPECT_EQ(core::configure_threads(1), 1);  // an explicit count wins
  for (const char* bad : {"0", "-1", "two", "2x", ""}) {
    setenv("OMP_NUM_THREADS", bad, 1);
    EXPECT_EQ(core::configure_threads(0), all) << "OMP_NUM_THREADS='" << bad << "'";
  }
}

TEST(Runtime, DtypeNames) {
  EXPECT_EQ(core::parse_dtype("fp32"), torch::kFloat);
  EXPECT_EQ(core::parse_dtype("bf16"), torch::kBFloat16);
  EXPECT_THROW(core::parse_dtype("fp8"), pangu_draw::Error);
}

TEST(TensorCheck, ShapeAndFinitenessMessagesNameTheTensor) {
  try {
    core::expect_shape(torch::zeros({1, 4, 8, 8}), {1, 3, -1, -1}, "control hint");
    FAIL();
  } catch (const pangu_draw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("control hint: expected shape [1, 3, -1, -1], got [1, 4, 8, 8]"),
              std::string::npos) << e.what();
  }
  core::expect_shape(torch::zeros({1, 3, 8, 8}), {1, 3, -1, -1}, "ok");
  EXPECT_THROW(core::expect_finite(torch::tensor({1.0f, NAN}), "decoded image"), pangu_draw::Error);
}
