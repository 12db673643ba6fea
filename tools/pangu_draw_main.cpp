// pangu_draw_main.cpp: the pangu-draw CLI. One try/catch turns every error into its exit code:
// 0 ok, 1 usage, 2 input (a file or model is wrong), 3 runtime.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_batch.h"
#include "cli_bench.h"
#include "cli_generate.h"
#include "pangu_draw/pangu_draw.h"
#include "serve.h"

namespace {

constexpr int kExitUsage = 1;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pangu-draw: text-to-image generation (PanGu-Draw, Stable Diffusion 1.x/2.x/XL)"};
  app.set_version_flag("--version", [] { return pangu_draw::version(); }, "Engine, LibTorch and CUDA versions and the devices seen");
  app.require_subcommand(1);
  app.fallthrough();  // -q / -v may follow the subcommand
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only errors; no progress output");
  app.add_flag("-v,--verbose", verbose, "Debug output (detected configs, timings)");
  pangu_draw::cli::GenerateArgs generate;
  auto* gen_cmd = pangu_draw::cli::add_generate(app, generate);
  pangu_draw::cli::BatchArgs batch;
  auto* batch_cmd = pangu_draw::cli::add_batch(app, batch);
  auto& bench = pangu_draw::cli::add_bench(app);
  pangu_draw::cli::ServeArgs serve;
  auto* serve_cmd = pangu_draw::cli::add_serve(app, serve);
  std::string ckpt, converted, cast;
  auto* convert_cmd = app.add_subcommand(
      "convert", "Convert a MindSpore .ckpt (PanGu-Draw 3.0 release) to a .safetensors single file");
  convert_cmd->add_option("--mindspore", ckpt, "The .ckpt file")->required();
  convert_cmd->add_option("-o,--output", converted, "The .safetensors file to write")->required();
  convert_cmd->add_option("--cast", cast, "Store floats as F16, BF16 or F32 (default: as stored)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;  // --help exits 0; every parse error is a usage error
  }
  try {
    pangu_draw::set_log_level(quiet ? "error" : verbose ? "debug" : "info");
    if (gen_cmd->parsed()) pangu_draw::cli::run_generate(generate, !quiet);
    if (batch_cmd->parsed()) return pangu_draw::cli::run_batch(batch, !quiet);
    if (bench.cmd->parsed()) return pangu_draw::cli::run_bench(bench);
    if (serve_cmd->parsed()) return pangu_draw::cli::run_serve(serve, !quiet);
    if (convert_cmd->parsed()) {
      const auto n = pangu_draw::convert_mindspore_checkpoint(ckpt, converted, cast);
      std::fprintf(stderr, "wrote %zu tensors to %s\n", n, converted.c_str());
    }
    return 0;
  } catch (const pangu_draw::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.kind);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(pangu_draw::ErrorKind::Runtime);
  }
}
