// bench_quality_main.cpp: `pangu-draw-bench-quality`: runs a model over the TinyWorld held-out
// prompts (English and Chinese), checks every image and reports attribute accuracy + FID-style.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "bench.h"
#include "cli_experts.h"
#include "core/error.h"
#include "pangu_draw/pangu_draw.h"
#include "render.h"

namespace tw = pangu_draw::tinyworld;

namespace {

struct Args {
  std::string model, json_out, save_dir, sampler = "euler", langs = "en,zh";
  int steps = 20, threads = 0;
  float cfg = 7.5f;
  int64_t seed = 0;
  bool json = false, naive_latent_resize = false;
  std::string controlnet, control = "truth";  // edge maps of the prompt's scene or another's
  float control_scale = 1.0f;
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

// Edge-map control images, one per held-out scene: the prompt's own scene ("truth") or the next
// scene of the list ("swap": another shape, size, count or position than the prompt says, to
// measure whom the image follows). Written to a temporary folder removed at exit.
struct Controls {
  std::vector<tw::Scene> scenes;  // the control image's scene, per prompt index
  std::string dir;
  Controls(const Args& a, const tw::BenchOptions& opts) {
    if (a.controlnet.empty()) return;
    PD_CHECK(a.control == "truth" || a.control == "swap", Usage,
             "--control must be truth or swap, got '" << a.control << "'");
    const auto heldout = tw::heldout_scenes(opts.prompts);
    const size_t n = heldout.size();
    for (size_t i = 0; i < n; ++i) scenes.push_back(heldout[a.control == "swap" ? (i + 1) % n : i]);
    const std::string name = "pangu_bench_controls_" + std::to_string(getpid());
    dir = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::create_directories(dir);
    for (size_t i = 0; i < n; ++i)
      pangu_draw::write_png(path(int(i)), tw::render_edges(scenes[i], opts.size), "", true);
  }
  ~Controls() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  std::string path(int i) const { return dir + "/edges_" + std::to_string(i) + ".png"; }
};

// How often the images show the control scene's shape, size, count and position (with "swap",
// against how often the prompt's scene and the control scene agree by themselves).
struct Adherence {
  std::array<int, 4> follows{}, coincide{};
  int images = 0;
  static constexpr int kCats[4] = {0, 2, 3, 4};  // shape, size, count, position (kCategoryNames)
  void add(const tw::Detection& d, const tw::Scene& control, const tw::Scene& prompt) {
    const auto m = tw::matches(d, control);
    tw::Detection asked;  // what the prompt says, as a detection
    asked.count = prompt.count, asked.shape = prompt.shape, asked.size = prompt.size;
    asked.position = prompt.position;
    const auto same = tw::matches(asked, control);
    for (int k = 0; k < 4; ++k) follows[k] += m[kCats[k]], coincide[k] += same[kCats[k]];
    ++images;
  }
  nlohmann::json to_json() const {
    nlohmann::json j = {{"images", images}};
    for (int k = 0; k < 4; ++k)
      j[tw::kCategoryNames[kCats[k]]] = {{"follows_control", double(follows[k]) / std::max(images, 1)},
                                         {"prompt_agrees", double(coincide[k]) / std::max(images, 1)}};
    return j;
  }
  std::string text() const {
    std::string out = "control adherence (image shows the control's attribute; prompt and control agree):\n";
    char line[128];
    for (int k = 0; k < 4; ++k) {
      std::snprintf(line, sizeof line, "  %-10s %.3f  (%.3f)\n", tw::kCategoryNames[kCats[k]],
                    double(follows[k]) / std::max(images, 1), double(coincide[k]) / std::max(images, 1));
      out += line;
    }
    return out;
  }
};

int run(const Args& a) {
  pangu_draw::LoadOptions load;
  load.resolve_model = pangu_draw::any_model_path;  // --controlnet names a file of our user
  pangu_draw::set_compute_threads(a.threads);  // the process is ours
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
  const Controls controls(a, opts);
  Adherence adherence;
  auto generate = [&](const std::string& prompt, int index) {
    pangu_draw::Request req = base;
    req.prompt = prompt;
    req.seed = a.seed + index;
    if (!controls.dir.empty()) {
      req.controlnet_path = a.controlnet;
      req.control_image = pangu_draw::read_image(controls.path(index));
      req.control_scale = a.control_scale;
    }
    return pipe.generate(req).images.at(0);
  };
  auto save = [&](const pangu_draw::Image& img, const tw::Scene& scene, const std::string& lang,
                  int index, const tw::Detection& d) {
    if (!controls.dir.empty()) adherence.add(d, controls.scenes.at(size_t(index)), scene);
    if (a.save_dir.empty()) return;
    const std::string path = a.save_dir + "/" + lang + "_" + std::to_string(index) + ".png";
    pangu_draw::write_png(path, img, tw::to_json(d).dump());
  };
  const tw::BenchReport report = tw::run_bench(opts, generate, save);
  nlohmann::json j = report.to_json();
  if (!controls.dir.empty()) j["control_adherence"] = adherence.to_json();
  if (a.json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    std::printf("%s%s", report.to_text().c_str(), controls.dir.empty() ? "" : adherence.text().c_str());
  if (!a.json_out.empty()) std::ofstream(a.json_out) << j.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
  app.add_option("--threads", a.threads, "Threads (0: $OMP_NUM_THREADS if set, else all cores)");
  app.add_option("--save-dir", a.save_dir, "Write every generated image here");
  app.add_option("--json-out", a.json_out, "Also write the JSON report to this file");
  app.add_flag("--json", a.json, "Print the report as JSON");
  app.add_flag("!--no-style-prefix", a.bench.style_prefix, "Prompts without the style word");
  app.add_flag("--naive-latent-resize", a.naive_latent_resize,
               "Hand latents between sizes by resizing z_t (comparison only)");
  app.add_option("--controlnet", a.controlnet,
                 "An edge-map ControlNet: every prompt gets a control image (see --control)");
  app.add_option("--control", a.control,
                 "truth: the prompt's own scene's edges; swap: another held-out scene's (measures "
                 "whether images follow the edges or the text)");
  app.add_option("--control-scale", a.control_scale, "ControlNet conditioning scale");
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
