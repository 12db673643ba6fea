// serve.cpp: `pangu-draw serve`: flags, the listen address rules (loopback unless --api-key),
// loading the model once, and the server's life: SIGTERM / SIGINT stop it and it exits 0.
#include "serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "serve_http.h"

namespace pangu_draw::cli {

namespace {

struct Address {
  std::string host;
  int port = 0;
};

// "127.0.0.1:7860", "[::1]:7860", "0.0.0.0:8080" (port 0: any free port, printed at start).
Address parse_listen(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  Address a;
  if (colon != std::string::npos && colon > 0) {
    a.host = text.substr(0, colon);
    if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
    const std::string port = text.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (!port.empty() && *end == '\0' && p >= 0 && p <= 65535) a.port = static_cast<int>(p);
    else a.host.clear();
  }
  if (a.host.empty()) {
    throw Error(ErrorKind::Usage, "--listen " + text + ": expected HOST:PORT, e.g. 127.0.0.1:7860");
  }
  return a;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string model_title(const std::string& path) {
  std::filesystem::path p(path);
  if (p.filename().empty()) p = p.parent_path();  // "models/tiny/"
  return p.filename().string();
}

// Waits for SIGTERM / SIGINT (blocked in every thread), then stops the queue (the running job
// is cancelled, waiting clients get 503) and the server.
void stop_on_signal(const sigset_t& signals, httplib::Server& server, serve::JobQueue& queue,
                    const std::atomic<bool>& listening_done, bool log) {
  int sig = 0;
  sigwait(&signals, &sig);
  if (listening_done) return;  // woken by run_serve after a failed listen
  if (log) std::fprintf(stderr, "serve: signal %d: stopping\n", sig);
  queue.shutdown();
  while (!listening_done) {  // stop() is a no-op until listen has started
    server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void configure(httplib::Server& server, const ServeArgs& a, bool log_requests) {
  const std::size_t threads = static_cast<std::size_t>(a.max_queue) + 8;  // waiters + quick answers
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(static_cast<std::size_t>(a.max_body_mb) << 20);
  server.set_keep_alive_timeout(2);
  server.set_read_timeout(30);
  server.set_write_timeout(30);
  if (log_requests) {
    server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "serve: %s %s -> %d\n", req.method.c_str(), req.path.c_str(), res.status);
    });
  }
}

void check_args(const ServeArgs& a, const Address& addr, const std::string& key) {
  if (!is_loopback(addr.host) && key.empty()) {
    throw Error(ErrorKind::Usage, "--listen " + a.listen + " is not a loopback address: pass --api-key "
                                  "(or $PANGU_DRAW_API_KEY) so that only your clients can use it");
  }
  if (a.max_queue < 0 || a.max_queue > 1000) throw Error(ErrorKind::Usage, "--max-queue must be 0..1000");
  if (a.max_body_mb < 1 || a.max_body_mb > 1024) throw Error(ErrorKind::Usage, "--max-body-mb must be 1..1024");
  const auto& l = a.limits;
  if (l.max_side < 8 || l.max_steps < 1 || l.max_images < 1) {
    throw Error(ErrorKind::Usage, "--max-side must be >= 8, --max-steps and --max-images >= 1");
  }
}

}  // namespace

CLI::App* add_serve(CLI::App& app, ServeArgs& a) {
  auto* cmd = app.add_subcommand("serve", "Serve the model over HTTP with A1111's /sdapi/v1 API (docs/server.md)");
  cmd->add_option("-m,--model", a.model_path, "Diffusers folder or single-file checkpoint")->required();
  cmd->add_option("--config", a.load.config_dir, "Diffusers folder with configs for a single-file checkpoint");
  cmd->add_option("--device", a.load.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", a.load.dtype, "auto, fp32, bf16 or fp16")->capture_default_str();
  cmd->add_option("--threads", a.threads, "CPU threads (0 = $OMP_NUM_THREADS if set, else all cores)");
  cmd->add_option("--listen", a.listen, "HOST:PORT (port 0: a free port, printed); other than loopback "
                                        "needs --api-key")->capture_default_str();
  cmd->add_option("--api-key", a.api_key, "Clients must send 'Authorization: Bearer KEY' "
                                          "(default: $PANGU_DRAW_API_KEY)");
  cmd->add_option("--max-queue", a.max_queue, "Jobs waiting behind the running one; more get 429")
      ->capture_default_str();
  cmd->add_option("--max-body-mb", a.max_body_mb, "Largest request body in MiB (413 above)")->capture_default_str();
  cmd->add_option("--max-side", a.limits.max_side, "Largest width / height / init image side")->capture_default_str();
  cmd->add_option("--max-steps", a.limits.max_steps, "Most sampling steps per request")->capture_default_str();
  cmd->add_option("--max-images", a.limits.max_images, "Most images per request (batch_size * n_iter)")
      ->capture_default_str();
  return cmd;
}

int run_serve(const ServeArgs& a, bool log_requests) {
  const Address addr = parse_listen(a.listen);
  const char* env_key = std::getenv("PANGU_DRAW_API_KEY");
  const std::string key = !a.api_key.empty() ? a.api_key : env_key ? env_key : "";
  check_args(a, addr, key);
  sigset_t signals;  // blocked before any thread starts, so that only stop_on_signal takes them
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-answer is an error return, not a signal
  set_compute_threads(a.threads);
  serve::Settings settings;
  settings.model_title = model_title(a.model_path);
  serve::JobQueue queue(Pipeline::load(a.model_path, a.load), static_cast<std::size_t>(a.max_queue));
  serve::Context ctx{&queue, &settings, a.limits, key};
  httplib::Server server;
  configure(server, a, log_requests);
  serve::install_routes(server, ctx);
  const int port = addr.port > 0 ? (server.bind_to_port(addr.host, addr.port) ? addr.port : -1)
                                 : server.bind_to_any_port(addr.host);
  if (port <= 0) throw Error(ErrorKind::Usage, "--listen " + a.listen + ": cannot bind (in use or not an address here)");
  std::printf("pangu-draw serve: listening on http://%s:%d (model %s)\n", addr.host.c_str(), port,
              settings.model_title.c_str());
  std::fflush(stdout);
  std::atomic<bool> listening_done{false};
  std::thread stopper(stop_on_signal, std::cref(signals), std::ref(server), std::ref(queue),
                      std::cref(listening_done), log_requests);
  const bool ok = server.listen_after_bind();
  const bool signalled = queue.stopping();  // stop_on_signal shut the queue down first
  listening_done = true;
  pthread_kill(stopper.native_handle(), SIGTERM);  // wakes it if no signal came (it is blocked here)
  stopper.join();
  queue.shutdown();
  if (!ok && !signalled) throw Error(ErrorKind::Runtime, "the HTTP server stopped unexpectedly");
  return 0;
}

}  // namespace pangu_draw::cli
