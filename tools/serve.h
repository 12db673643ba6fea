// serve.h: the `serve` subcommand: a resident server with A1111's /sdapi/v1 API (docs/server.md).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "pangu_draw/pangu_draw.h"
#include "serve_a1111.h"

namespace pangu_draw::cli {

struct ServeArgs {
  std::string model_path;
  std::string listen = "127.0.0.1:7860";
  std::string api_key;   // also $PANGU_DRAW_API_KEY (not shown by ps)
  int max_queue = 4;     // jobs waiting behind the running one; more answer 429
  int max_body_mb = 32;  // request bodies above this answer 413
  int threads = 0;       // LibTorch's CPU threads
  LoadOptions load;
  serve::Limits limits;
};

CLI::App* add_serve(CLI::App& app, ServeArgs& args);

// Loads the model, serves until SIGTERM / SIGINT, returns 0. Throws Error{Usage} for a
// non-loopback --listen without --api-key or an address it cannot bind.
int run_serve(const ServeArgs& args, bool log_requests);

}  // namespace pangu_draw::cli
