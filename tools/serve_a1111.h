// serve_a1111.h: A1111's /sdapi/v1/txt2img and /img2img payloads mapped onto pangu_draw::Request
// (with the PanGu extras pangu_*), and the answers built from a finished job.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "serve_fields.h"
#include "serve_jobs.h"

namespace pangu_draw::serve {

// Bounds of one request, set by the server's flags (the library checks its own as well).
struct Limits {
  int max_side = 2048;   // width, height and init image sides
  int max_steps = 150;
  int max_images = 16;   // batch_size * n_iter
  int max_styles = 4;
  int max_experts = 4;
};

// The server-wide options of GET/POST /sdapi/v1/options; guarded by `mu`.
struct Settings {
  mutable std::mutex mu;
  std::string model_title;   // the model's folder or file name
  int clip_skip = 0;         // CLIP_stop_at_last_layers; 0 = the model's own
  double eta_ddim = 0.0;
};

// A parsed generation request: the job to queue and what the answer echoes.
struct Parsed {
  std::shared_ptr<Job> job;
  json echo;               // A1111's "parameters": the request with defaults, images removed
  int batch_size = 1;
  bool send_images = true;
};

// Throws HttpError (400 data, 422 values) for anything it cannot honour exactly.
Parsed parse_generation(const json& body, bool img2img, const Settings& settings, const Limits& limits);

// {"images": [base64 PNG...], "parameters": {...}, "info": "<json string>"}.
json generation_answer(const Parsed& parsed, const Job& job, const Settings& settings);

}  // namespace pangu_draw::serve
