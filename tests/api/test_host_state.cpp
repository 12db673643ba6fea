// The library leaves its host's process state alone: loading and generating keep the host's
// thread count and signal dispositions, and log lines go to the host's callback when it set one.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "pangu_draw/pangu_draw.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;

namespace {

pangu_draw::Request small_request() {
  pangu_draw::Request r;
  r.prompt = "a red cube";
  r.steps = 2;
  r.seed = 3;
  return r;
}

}  // namespace

TEST(HostState, ThreadCountAndSignalsAreTheHostsAfterLoadAndGenerate) {
  at::set_num_threads(1);
  struct sigaction before_pipe {}, before_int {}, after_pipe {}, after_int {};
  sigaction(SIGPIPE, nullptr, &before_pipe);
  sigaction(SIGINT, nullptr, &before_int);
  auto pipe = pangu_draw::Pipeline::load(pt::model_dir("sd1"), pt::trusting());
  auto result = pipe.generate(small_request());
  ASSERT_EQ(result.images.size(), 1u);
  EXPECT_EQ(at::get_num_threads(), 1) << "the library changed the host's thread count";
  sigaction(SIGPIPE, nullptr, &after_pipe);
  sigaction(SIGINT, nullptr, &after_int);
  EXPECT_EQ(before_pipe.sa_handler, after_pipe.sa_handler);
  EXPECT_EQ(before_int.sa_handler, after_int.sa_handler);
  EXPECT_EQ(pangu_draw::set_compute_threads(2), 2);  // only when the host asks
  EXPECT_EQ(at::get_num_threads(), 2);
  pangu_draw::set_compute_threads(1);
}

TEST(HostState, LogLinesGoToTheHostsCallback) {
  std::vector<std::pair<std::string, std::string>> lines;
  pangu_draw::set_log_callback([&](const std::string& level, const std::string& message) {
    lines.emplace_back(level, message);
  });
  testing::internal::CaptureStderr();
  auto pipe = pangu_draw::Pipeline::load(pt::model_dir("sd1"), pt::trusting());
  const std::string stderr_text = testing::internal::GetCapturedStderr();
  pangu_draw::set_log_callback({});
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front().first, "info");
  EXPECT_EQ(lines.front().second.rfind("loading ", 0), 0u) << lines.front().second;
  EXPECT_EQ(stderr_text, "") << "log lines also went to stderr";
}

TEST(HostState, DataOnlyRequestsRefuseMalformedData) {
  auto pipe = pangu_draw::Pipeline::load(pt::model_dir("sd1"), pt::trusting());
  auto r = small_request();
  r.init_noise.shape = {1, 4, 8, 8};
  r.init_noise.data.assign(10, 0.0f);  // not 256 values
  try {
    pipe.generate(r);
    FAIL() << "malformed noise was accepted";
  } catch (const pangu_draw::Error& e) {
    EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("holds 256 values, got 10"), std::string::npos) << e.what();
  }
  r = small_request();
  r.controlnet_path = pt::model_dir("sd1") + "/controlnet";
  r.control_image.width = r.control_image.height = 8;  // no pixels
  EXPECT_THROW(pipe.generate(r), pangu_draw::Error);
}

// A request names other models only through the host's LoadOptions::resolve_model: by default
// every name is refused before anything is read, and a host's resolver sees each name.
TEST(HostState, RequestsNameOtherModelsOnlyThroughTheHostsResolver) {
  auto r = small_request();
  r.controlnet_path = pt::model_dir("sd1") + "/controlnet";
  r.width = r.height = 32;
  r.control_image.width = r.control_image.height = 32;
  r.control_image.rgb.assign(32 * 32 * 3, 0);
  pangu_draw::Request t = small_request();
  t.texture_model_path = "/etc/passwd";
  for (const auto& req : {r, t}) {
    try {
      pangu_draw::Pipeline::load(pt::model_dir("sd1")).generate(req);
      FAIL() << "a model path was accepted without a resolver";
    } catch (const pangu_draw::Error& e) {
      EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find("LoadOptions::resolve_model"), std::string::npos) << e.what();
    }
  }
  std::vector<std::string> asked;
  pangu_draw::LoadOptions options;
  options.resolve_model = [&](const std::string& name) -> std::string {
    asked.push_back(name);
    throw pangu_draw::Error(pangu_draw::ErrorKind::Usage, "not on the allow list: " + name);
  };
  EXPECT_THROW(pangu_draw::Pipeline::load(pt::model_dir("sd1"), options).generate(t), pangu_draw::Error);
  EXPECT_EQ(asked, std::vector<std::string>{"/etc/passwd"});
}
