// cli_generate.h: the `generate` subcommand — the only place that knows its flag names.
#pragma once

#include <CLI/CLI.hpp>
#include <set>
#include <string>

#include "cli_experts.h"
#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::cli {

struct GenerateArgs {
  std::string model_path;
  std::string output = "output.png";
  bool overwrite = false;
  int threads = 0;               // LibTorch's CPU threads, set by the CLI (the process is ours)
  // The CLI's user names the files, so every model path a request names is trusted.
  LoadOptions load = [] {
    LoadOptions o;
    o.resolve_model = any_model_path;
    return o;
  }();
  Request request;               // data only; the files below are read into it by the CLI
  ExpertArgs experts;
  std::string control_image;     // --control-image FILE
  std::string init_noise;        // --init-noise FILE (safetensors)
  std::string init_image;        // --init-image FILE (img2img / inpainting / outpainting)
  std::string mask_image;        // --mask-image FILE
  std::string save_latent;       // --save-latent FILE
  std::string enhance_cmd;       // --enhance-cmd CMD (the CLI runs it, never the library)
  int enhance_timeout_ms = 30000;
  std::string lora_dir;          // --lora-dir DIR: <lora:name:w> tags find DIR/name.safetensors
  std::string embedding_dir;     // --embedding-dir DIR: every *.safetensors there (cli_recipe.h)
  std::string from_png;          // --from-png FILE: rerun its recipe (cli_from_png.h)
  std::set<std::string> given;   // the flags the command line gave (they override a recipe)
};

// Registers the subcommand and its flags, bound to `args`.
CLI::App* add_generate(CLI::App& app, GenerateArgs& args);

// The request flags shared by `generate` and `batch` (where prompts come from a file).
void add_request_flags(CLI::App& cmd, GenerateArgs& args, bool prompt_required);

// Progress lines on stderr ("step 3/20  0.52 s/step").
ProgressFn progress_printer(bool show);

// The request of `args` with its files read in (control image, initial noise, init and mask
// images, the experts' control images), the prompt enhanced when asked, and latents asked for
// when saved.
Request resolve_request(const GenerateArgs& args, bool show_progress);

// "out.png" -> "out_3.png" for item 3 of a batch of count > 1.
std::string output_path(const std::string& path, int index, int count);

// Runs it: load, generate, write PNGs. Throws pangu_draw::Error.
void run_generate(const GenerateArgs& args, bool show_progress);

}  // namespace pangu_draw::cli
