// serve_http.cpp: the HTTP side of `pangu-draw serve`: each handler turns its request into data,
// answers small questions at once, and for a generation queues a job and waits for it while
// watching its client (a client that goes away cancels the job).
#include "serve_http.h"

#include <chrono>
#include <functional>

#include "serve_codec.h"
#include "serve_conn.h"
#include "serve_info.h"

namespace pangu_draw::serve {

namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 500: return "Internal Server Error";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

// The body of every error: {"error": reason, "detail": what was wrong and what to do}.
void reply_error(httplib::Response& res, int status, const std::string& detail) {
  reply(res, status, {{"error", reason(status)}, {"detail", detail}});
}

int status_of(const Error& e) {
  switch (e.kind) {
    case ErrorKind::Usage: return 422;  // the request asks for something invalid
    case ErrorKind::Input: return 400;  // its data (an image) is unusable
    case ErrorKind::Runtime: break;
  }
  return 500;  // an engine failure
}

// Every handler's errors become JSON answers; nothing escapes into cpp-httplib.
Handler guarded(Handler fn) {
  return [fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const HttpError& e) {
      reply_error(res, e.status, e.what());
    } catch (const Error& e) {
      reply_error(res, status_of(e), e.what());
    } catch (const json::exception& e) {
      reply_error(res, 422, std::string("bad JSON value: ") + e.what());
    } catch (const std::exception& e) {
      reply_error(res, 500, e.what());
    }
  };
}

json parse_body(const httplib::Request& req) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw HttpError(400, "the body is not valid JSON");
  refuse_deep(body);
  return body;
}

// Queues the job and waits for it, polling the client's socket: a client that goes away
// cancels its job. Shutdown answers 503; an interrupt keeps the images already finished.
void run_generation(Context& ctx, const httplib::Request& req, httplib::Response& res, bool img2img) {
  Parsed parsed = parse_generation(parse_body(req), img2img, *ctx.settings, ctx.limits);
  if (!ctx.queue->submit(parsed.job)) {
    if (ctx.queue->stopping()) throw HttpError(503, "the server is shutting down");
    res.set_header("Retry-After", "1");
    throw HttpError(429, "the queue is full; try again later (the server's --max-queue)");
  }
  const int fd = connection_fd(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  while (!ctx.queue->wait(parsed.job, std::chrono::milliseconds(100))) {
    if (fd >= 0 && peer_closed(fd)) {
      ctx.queue->cancel(parsed.job);  // nobody reads the answer
      throw HttpError(499, "the client closed the connection");
    }
  }
  const Job& job = *parsed.job;
  if (job.error) throw *job.error;
  if (job.interrupted && ctx.queue->stopping()) throw HttpError(503, "the server is shutting down");
  reply(res, 200, generation_answer(parsed, job, *ctx.settings));
}

bool authorized(const Context& ctx, const httplib::Request& req) {
  if (ctx.api_key.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  auto same = [](const std::string& a, const std::string& b) {  // no early exit on a mismatch
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^
                                    (i < b.size() ? static_cast<unsigned char>(b[i]) : 0u));
    }
    return diff == 0;
  };
  if (auth.rfind("Bearer ", 0) == 0) return same(auth.substr(7), ctx.api_key);
  if (auth.rfind("Basic ", 0) == 0) {  // A1111's --api-auth user:password; the password is the key
    try {
      const std::string pair = base64_decode(auth.substr(6), "Authorization");
      const std::size_t colon = pair.find(':');
      return colon != std::string::npos && same(pair.substr(colon + 1), ctx.api_key);
    } catch (const Error&) {
      return false;
    }
  }
  return false;
}

void install_handlers(httplib::Server& server, Context& ctx) {
  server.set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/health" || req.path == "/openapi.json" || authorized(ctx, req)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer, Basic realm=\"pangu-draw\"");
    reply_error(res, 401, "send 'Authorization: Bearer <the server's --api-key>'");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_error_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      reply_error(res, 413, "the body is larger than the server's limit (--max-body-mb)");
    } else if (res.status == 404) {
      reply_error(res, 404, "no such endpoint: " + req.method + " " + req.path + " (see /openapi.json)");
    } else {
      reply_error(res, res.status, "the request could not be read");
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, 500, "internal error");
  });
}

}  // namespace

void install_routes(httplib::Server& server, Context& ctx) {
  install_handlers(server, ctx);
  server.Get("/health", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
    const Progress p = ctx.queue->progress();
    reply(res, 200, {{"status", ctx.queue->stopping() ? "stopping" : "ok"}, {"busy", p.busy},
                     {"queued", p.queued}, {"version", version()}});
  }));
  server.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_json(), "application/json");
  });
  server.Post("/sdapi/v1/txt2img", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
    run_generation(ctx, req, res, false);
  }));
  server.Post("/sdapi/v1/img2img", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
    run_generation(ctx, req, res, true);
  }));
  server.Get("/sdapi/v1/progress", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, progress(ctx.queue->progress()));
  }));
  server.Post("/sdapi/v1/interrupt", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
    ctx.queue->interrupt();
    reply(res, 200, json::object());
  }));
  server.Get("/sdapi/v1/sd-models", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, sd_models(*ctx.settings));
  }));
  server.Get("/sdapi/v1/samplers", guarded([](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, samplers());
  }));
  server.Get("/sdapi/v1/schedulers", guarded([](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, schedulers());
  }));
  server.Get("/sdapi/v1/options", guarded([&ctx](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, options(*ctx.settings));
  }));
  server.Post("/sdapi/v1/options", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
    set_options(parse_body(req), *ctx.settings);
    reply(res, 200, nullptr);
  }));
}

}  // namespace pangu_draw::serve
