// bench_quality_main.cpp: `pangu-draw-bench-quality`: runs a model over the TinyWorld held-out
// prompts (English and Chinese), checks every image and reports attribute accuracy + FID-style.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench.h"
#include "cli_experts.h"
#include "pangu_draw/pangu_draw.h"

namespace tw = pangu_draw::tinyworld;

namespace {

struct Args {
  std::string model, json_out, save_dir, sampler = "euler", langs = "en,zh";
  int steps = 20, threads = 0;
  float cfg = 7.5f;
  int64_t seed = 0;
  bool json = false, naive_latent_resize = false;
  tw::BenchOptions bench;
  pangu_draw::cli::ExpertArgs experts;  // the run's plan, as pangu-draw generate takes it
};

std::vector<std::string> split_langs(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c != ',')
      cur += c;
    else if (!cur.empty())
      out.push_back(cur), cur.clear();
  }
  return out;
}

int run(const Args& a) {
  pangu_draw::LoadOptions load;
  load.threads = a.threads;
  const auto pipe = pangu_draw::Pipeline::load(a.model, load);
  tw::BenchOptions opts = a.bench;
  opts.langs = split_langs(a.langs);
  if (!a.save_dir.empty()) std::filesystem::create_directories(a.save_dir);
  // Every prompt runs the same plan: the flags are parsed once, before the first image.
  pangu_draw::Request base;
  base.width = base.height = opts.size;
  base.steps = a.steps;
  base.cfg_scale = a.cfg;
  base.sampler = a.sampler;
  base.naive_latent_resize = a.naive_latent_resize;
  pangu_draw::cli::apply_expert_flags(a.experts, base);
  auto generate = [&](const std::string& prompt, int index) {
    pangu_draw::Request req = base;
    req.prompt = prompt;
    req.seed = a.seed + index;
    return pipe.generate(req).images.at(0);
  };
  auto save = [&](const pangu_draw::Image& img, const tw::Scene&, const std::string& lang,
                  int index, const tw::Detection& d) {
    if (a.save_dir.empty()) return;
    const std::string path = a.save_dir + "/" + lang + "_" + std::to_string(index) + ".png";
    pangu_draw::write_png(path, img, tw::to_json(d).dump());
  };
  const tw::BenchReport report = tw::run_bench(opts, generate, save);
  if (a.json)
    std::printf("%s\n", report.to_json().dump(2).c_str());
  else
    std::printf("%s", report.to_text().c_str());
  if (!a.json_out.empty()) std::ofstream(a.json_out) << report.to_json().dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pangu_draw::restart_with_fast_blas(argv);  // linear layers on the CPU's OpenBLAS kernel
  CLI::App app{
      "pangu-draw-bench-quality: attribute accuracy and FID-style distance of a model on "
      "the TinyWorld held-out prompts"};
  Args a;
  app.add_option("-m,--model", a.model, "Model folder (diffusers layout)")->required();
  app.add_option("-n,--prompts", a.bench.prompts, "Held-out scenes (each once per language)");
  app.add_option("--langs", a.langs, "Comma-separated languages: en, zh");
  app.add_option("--size", a.bench.size, "Image size");
  app.add_option("--real", a.bench.real_images, "Held-out real images for the distance");
  app.add_option("--steps", a.steps, "Sampler steps");
  app.add_option("--cfg", a.cfg, "Guidance scale");
  app.add_option("--sampler", a.sampler, "Sampler name");
  app.add_option("--seed", a.seed, "Seed of prompt 0 (prompt i uses seed + i)");
  app.add_option("--threads", a.threads, "Threads (0: all cores)");
  app.add_option("--save-dir", a.save_dir, "Write every generated image here");
  app.add_option("--json-out", a.json_out, "Also write the JSON report to this file");
  app.add_flag("--json", a.json, "Print the report as JSON");
  app.add_flag("!--no-style-prefix", a.bench.style_prefix, "Prompts without the style word");
  app.add_flag("--naive-latent-resize", a.naive_latent_resize,
               "Hand latents between sizes by resizing z_t (comparison only)");
  pangu_draw::cli::add_expert_flags(app, a.experts);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  try {
    pangu_draw::set_log_level("warn");
    return run(a);
  } catch (const pangu_draw::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.kind);
  }
}
