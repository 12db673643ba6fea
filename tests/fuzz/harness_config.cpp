// harness_config.cpp: harness entry for config.json: JsonConfig::load, then each from_json
// (UNet, VAE, CLIP text, noise schedule) on the same object, each allowed to reject it.
#include "fuzz/harness.h"
#include "io/json_config.h"
#include "schedulers/noise_schedule.h"
#include "text_encoders/clip_text.h"
#include "unet/unet_config.h"
#include "vae/vae_config.h"

namespace pangu_draw::fuzz {

namespace {

// Runs one from_json; Errors are counted, other exceptions escape.
template <typename F>
void attempt(F&& f, int& rejected, std::string& first_message) {
  try {
    f();
  } catch (const Error& e) {
    ++rejected;
    if (first_message.empty()) first_message = e.what();
  }
}

}  // namespace

void parse_config_json(const std::string& bytes) {
  const io::JsonConfig json = io::JsonConfig::load(scratch_file("config.json", bytes));
  int rejected = 0;
  std::string message;
  attempt([&] { (void)unet::UNetConfig::from_json(json); }, rejected, message);
  attempt([&] { (void)vae::VAEConfig::from_json(json); }, rejected, message);
  attempt([&] { (void)text_encoders::CLIPTextConfig::from_json(json); }, rejected, message);
  attempt([&] { (void)schedulers::NoiseScheduleConfig::from_json(json); }, rejected, message);
  // Rejected by every reader: report the first reason, as a loader would.
  if (rejected == 4) throw Error(ErrorKind::Input, message);
}

}  // namespace pangu_draw::fuzz
