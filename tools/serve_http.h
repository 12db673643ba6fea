// serve_http.h: the routes of `pangu-draw serve` on a cpp-httplib server: authentication,
// A1111's /sdapi/v1 endpoints, /health, /openapi.json, and errors as JSON.
#pragma once

#include <httplib.h>

#include <string>

#include "serve_a1111.h"
#include "serve_jobs.h"

namespace pangu_draw::serve {

struct Context {
  JobQueue* queue = nullptr;
  Settings* settings = nullptr;
  Limits limits;
  std::string api_key;  // "" = no authentication
};

// Registers every route and the auth / error / exception handlers; `ctx` must outlive `server`.
void install_routes(httplib::Server& server, Context& ctx);

// The hand-kept OpenAPI 3 description (serve_openapi.cpp).
const std::string& openapi_json();

}  // namespace pangu_draw::serve
