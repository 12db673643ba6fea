// tinyworld_main.cpp: the `tinyworld` data tool: generate a captioned training/held-out set,
// write the held-out prompt list, write a held-out scene's edge map, or run the attribute checker
// on image files.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench.h"
#include "checker.h"
#include "core/error.h"
#include "io/png.h"
#include "pangu_draw/pangu_draw.h"
#include "render.h"
#include "scene.h"

namespace tw = pangu_draw::tinyworld;

namespace {

struct GenerateArgs {
  std::string out;
  int count = 1000, size = 64;
  uint64_t seed = 0;
  bool heldout = false;
  double lowres_fraction = 0.25;
};

// DIR/images/NNNNNN.png + DIR/metadata.jsonl ({"file", "en", "zh", "truth"} per line).
void run_generate(const GenerateArgs& a) {
  namespace fs = std::filesystem;
  fs::create_directories(fs::path(a.out) / "images");
  std::ofstream meta(fs::path(a.out) / "metadata.jsonl");
  PD_CHECK(meta, Input, "cannot write " << a.out << "/metadata.jsonl");
  for (int i = 0; i < a.count; ++i) {
    const tw::Scene s = tw::sample_scene(a.seed + i, a.heldout, a.lowres_fraction);
    char file[32];
    std::snprintf(file, sizeof file, "images/%06d.png", i);
    pangu_draw::write_png((fs::path(a.out) / file).string(), tw::render(s, a.size),
                          tw::caption_en(s));
    nlohmann::json line = {{"file", file},
                           {"en", tw::caption_en(s)},
                           {"zh", tw::caption_zh(s)},
                           {"truth", tw::to_json(s)}};
    meta << line.dump() << "\n";
  }
  std::fprintf(stderr, "wrote %d images to %s\n", a.count, a.out.c_str());
}

void run_prompts(const std::string& out, int count) {
  std::ofstream f(out);
  PD_CHECK(f, Input, "cannot write " << out);
  const auto scenes = tw::heldout_scenes(count);
  for (int i = 0; i < count; ++i) f << tw::prompt_record(scenes[i], i).dump() << "\n";
}

// The edge map (ControlNet control image) of held-out prompt `index` of the benchmark's list.
void run_edges(int index, int object, int size, const std::string& out) {
  PD_CHECK(index >= 0, Usage, "--index must be >= 0, got " << index);
  const auto scenes = tw::heldout_scenes(index + 1);
  pangu_draw::write_png(out, tw::render_edges(scenes[index], size, object),
                        tw::prompt_record(scenes[index], index).dump());
}

void run_check(const std::vector<std::string>& files, bool json) {
  for (const auto& path : files) {
    const tw::Detection d = tw::check(pangu_draw::io::read_image(path));
    nlohmann::json j = tw::to_json(d);
    j["file"] = path;
    if (!json) j.erase("features");
    std::printf("%s\n", j.dump().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tinyworld: captioned synthetic scenes for training and evaluating pangu-draw"};
  app.require_subcommand(1);
  GenerateArgs gen;
  auto* gen_cmd = app.add_subcommand("generate", "Render a captioned data set (EN + ZH)");
  gen_cmd->add_option("-o,--out", gen.out, "Output folder")->required();
  gen_cmd->add_option("-n,--count", gen.count, "Number of images");
  gen_cmd->add_option("--seed", gen.seed, "First scene seed (scene i uses seed + i)");
  gen_cmd->add_option("--size", gen.size, "Image size in pixels");
  gen_cmd->add_option("--lowres-fraction", gen.lowres_fraction, "Share rendered at half size");
  gen_cmd->add_flag("--heldout", gen.heldout, "Draw held-out combinations (evaluation only)");
  std::string prompts_out;
  int prompts_count = 200;
  auto* prompts_cmd = app.add_subcommand("prompts", "Write the held-out prompt list (JSONL)");
  prompts_cmd->add_option("-o,--out", prompts_out, "Output file")->required();
  prompts_cmd->add_option("-n,--count", prompts_count, "Number of prompts");
  int edges_index = 0, edges_object = -1, edges_size = 64;
  std::string edges_out;
  auto* edges_cmd = app.add_subcommand(
      "edges", "Write the edge map (ControlNet control image) of a held-out prompt's scene");
  edges_cmd->add_option("-i,--index", edges_index, "Held-out prompt index (as in heldout_prompts.jsonl)");
  edges_cmd->add_option("--object", edges_object, "Only this object of the group (0-based; -1: all)");
  edges_cmd->add_option("--size", edges_size, "Image size in pixels");
  edges_cmd->add_option("-o,--out", edges_out, "Output PNG")->required();
  std::vector<std::string> files;
  bool json = false;
  auto* check_cmd = app.add_subcommand("check", "Say what TinyWorld attributes images show");
  check_cmd->add_option("images", files, "PNG files")->required();
  check_cmd->add_flag("--features", json, "Include the feature vector");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;  // usage errors exit 1, as pangu-draw's do
  }
  try {
    if (gen_cmd->parsed()) run_generate(gen);
    if (prompts_cmd->parsed()) run_prompts(prompts_out, prompts_count);
    if (check_cmd->parsed()) run_check(files, json);
    if (edges_cmd->parsed()) run_edges(edges_index, edges_object, edges_size, edges_out);
    return 0;
  } catch (const pangu_draw::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.kind);
  }
}
