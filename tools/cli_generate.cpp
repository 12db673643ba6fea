// cli_generate.cpp: the generate subcommand: its flags, the files it reads into the data-only
// Request, and writing the PNGs.
#include "cli_generate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "batch_items.h"
#include "cli_from_png.h"
#include "cli_recipe.h"
#include "prompt_enhance.h"

namespace pangu_draw::cli {

namespace {

// Image editing (docs/editing.md): img2img, inpainting, outpainting.
void add_edit_flags(CLI::App& cmd, GenerateArgs& a) {
  auto& r = a.request;
  cmd.add_option("--init-image", a.init_image, "Image to start from (img2img); the output takes its size")
      ->group("Editing");
  cmd.add_option("--strength", r.strength, "Share of the steps re-run on the init image, in (0, 1]")
      ->capture_default_str()->group("Editing");
  cmd.add_option("--mask-image", a.mask_image,
                 "Inpainting mask, the init image's size: white = repaint, black = keep")->group("Editing");
  cmd.add_option("--mask-blur", r.mask_blur, "Blur the mask by PX pixels (Gaussian sigma)")
      ->capture_default_str()->group("Editing");
  cmd.add_flag("--paste-back", r.paste_back, "Paste the original pixels outside the mask into the result")
      ->group("Editing");
  cmd.add_option_function<std::string>(
         "--outpaint",
         [&r](const std::string& text) {
           try {
             r.outpaint = parse_border(text, "--outpaint");
           } catch (const Error& e) {
             throw CLI::ValidationError(e.what());
           }
         },
         "L,T,R,B: pixels to add on each side (multiples of 8); the new area is painted")
      ->group("Editing");
}

}  // namespace

void add_request_flags(CLI::App& app_cmd, GenerateArgs& a, bool prompt_required) {
  auto* cmd = &app_cmd;
  auto& r = a.request;
  cmd->add_option("-m,--model", a.model_path, "Diffusers folder or single-file .safetensors checkpoint")
      ->required()->group("Model");
  cmd->add_option("--config", a.load.config_dir, "Diffusers folder with configs for a single-file checkpoint")
      ->group("Model");
  cmd->add_option("--threads", a.threads, "CPU threads (0 = $OMP_NUM_THREADS if set, else all cores)")->capture_default_str()->group("Model");
  cmd->add_option("--dtype", a.load.dtype,
                  "Compute dtype: auto (fp32 on the CPU, bf16/fp16 on CUDA), fp32, bf16 or fp16")
      ->capture_default_str()->group("Model");
  cmd->add_option("--device", a.load.device, "auto (CUDA when a GPU is visible), cpu, cuda or cuda:N")
      ->capture_default_str()->group("Model");
  cmd->add_option("-p,--prompt", r.prompt, "What to draw (English or Chinese)")
      ->required(prompt_required)->group("Prompt");
  cmd->add_option("-n,--negative-prompt", r.negative_prompt, "What to avoid")->group("Prompt");
  cmd->add_option("--sampler", r.sampler,
                  "euler, euler_a, heun, lms, dpm2, dpm2_a, dpmpp_2m, dpmpp_2m_sde, dpmpp_sde, unipc, "
                  "ddim, ddpm, lcm, or an A1111 name such as \"DPM++ 2M SDE Karras\"")
      ->capture_default_str()->group("Sampling");
  cmd->add_option("--schedule", r.schedule,
                  "Sigma schedule: default, karras, exponential or sgm_uniform (or an A1111 "
                  "Schedule type: Automatic, Karras, Exponential, SGM Uniform)")
      ->capture_default_str()->group("Sampling");
  cmd->add_option("--steps", r.steps, "Sampling steps")->capture_default_str()->group("Sampling");
  cmd->add_option("--cfg-scale", r.cfg_scale, "Classifier-free guidance scale")->capture_default_str()->group("Sampling");
  cmd->add_option("--eta", r.eta, "DDIM eta (0 = deterministic)")->capture_default_str()->group("Sampling");
  cmd->add_option("--dynamic-threshold", r.dynamic_threshold,
                  "Imagen dynamic thresholding: percentile of |x0| per step (e.g. 0.995; 0 = off)")
      ->group("Sampling");
  cmd->add_option("--dynamic-threshold-max", r.dynamic_threshold_max,
                  "Upper bound of the dynamic threshold (>= 1, in units of the range)")
      ->capture_default_str()->group("Sampling");
  cmd->add_option("--dynamic-threshold-range", r.dynamic_threshold_range,
                  "Data range R the threshold works in: |x0| <= R is never changed "
                  "(0 = the model's: 1 in pixel space, 4 for VAE latents)")
      ->capture_default_str()->group("Sampling");
  cmd->add_option("-W,--width", r.width, "Image width (multiple of 8; 0 = model's native size)")
      ->capture_default_str()->group("Sampling");
  cmd->add_option("-H,--height", r.height, "Image height (multiple of 8; 0 = native)")->capture_default_str()->group("Sampling");
  cmd->add_option("-s,--seed", r.seed, "Random seed (-1 = random)")->capture_default_str()->group("Sampling");
  cmd->add_option("-b,--batch-count", r.batch_count, "Images to generate (seeds seed, seed+1, ...)")
      ->capture_default_str()->group("Sampling");
  cmd->add_option("--init-noise", a.init_noise, "safetensors with the initial standard-normal noise")
      ->group("Sampling");
  add_edit_flags(*cmd, a);
  cmd->add_option("--controlnet", r.controlnet_path, "ControlNet folder")->group("Control");
  cmd->add_option("--control-image", a.control_image, "Control image (same size as the output)")->group("Control");
  cmd->add_option("--control-scale", r.control_scale, "ControlNet conditioning scale")->capture_default_str()->group("Control");
  cmd->add_option("--vae-tile", r.vae_tile,
                  "Decode in overlapping tiles of N latent cells (-1 = auto: above 64x64 latents, "
                  "i.e. images over 512x512; 0 = never)")->capture_default_str()->group("Output");
  cmd->add_option("--save-latent", a.save_latent, "Also write the final latent (safetensors)")->group("Output");
  cmd->add_option("--enhance-cmd", a.enhance_cmd,
                  "Prompt enhancer: a shell command reading the prompt on stdin, printing a new one")
      ->group("Prompt");
  cmd->add_option("--enhance-timeout", a.enhance_timeout_ms, "Enhancer time limit in ms")
      ->capture_default_str()->group("Prompt");
  cmd->add_flag("--naive-latent-resize", r.naive_latent_resize,
                "Hand latents between sizes by resizing z_t (only to compare with the default)")
      ->group("Coop-Diffusion");
  add_expert_flags(*cmd, a.experts);
  add_recipe_flags(*cmd, a);
}

CLI::App* add_generate(CLI::App& app, GenerateArgs& a) {
  auto* cmd = app.add_subcommand("generate", "Generate images from a text prompt");
  add_request_flags(*cmd, a, false);  // --prompt or --from-png: checked by add_from_png_flag
  add_from_png_flag(*cmd, a);
  cmd->add_option("-o,--output", a.output, "Output PNG (batches add _0, _1, ...)")->capture_default_str()->group("Output");
  cmd->add_flag("--overwrite", a.overwrite, "Replace existing output files")->group("Output");
  return cmd;
}

ProgressFn progress_printer(bool show) {
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [show, last](int step, int steps) {
    auto now = std::chrono::steady_clock::now();
    if (show) {
      std::fprintf(stderr, "step %d/%d  %.2f s/step\n", step, steps,
                   std::chrono::duration<double>(now - *last).count());
    }
    *last = now;
    return true;
  };
}

std::string output_path(const std::string& path, int index, int count) {
  if (count == 1) return path;
  const size_t dot = path.find_last_of('.');
  const std::string stem = dot == std::string::npos ? path : path.substr(0, dot);
  return stem + "_" + std::to_string(index) + (dot == std::string::npos ? "" : path.substr(dot));
}

Request resolve_request(const GenerateArgs& a, bool show_progress) {
  Request r = a.request;
  if (!a.control_image.empty()) r.control_image = read_image(a.control_image);
  if (!a.init_noise.empty()) r.init_noise = read_tensor(a.init_noise);
  if (!a.init_image.empty()) r.init_image = read_image(a.init_image);
  if (!a.mask_image.empty()) r.mask_image = read_image(a.mask_image);
  r.return_latents = !a.save_latent.empty();
  if (!a.enhance_cmd.empty()) {
    const Enhanced e = enhance_prompt(r.prompt, a.enhance_cmd, a.enhance_timeout_ms, show_progress);
    if (e.used) {
      r.original_prompt = r.prompt;
      r.prompt = e.prompt;
    }
  }
  resolve_recipe_files(a, r);  // LoRAs (the final prompt's tags) and embeddings
  return r;
}

namespace {

// The folder a file goes to must exist and be writable: checked before the work, not after it.
void check_folder_of(const std::string& file, const char* flag) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorKind::Usage, std::string(flag) + " " + file + ": the folder " + dir +
                                      " does not exist; create it first or choose another path");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw Error(ErrorKind::Usage, std::string(flag) + " " + file + ": the folder " + dir +
                                      " is not writable");
  }
}

void check_outputs_free(const GenerateArgs& a) {
  check_folder_of(a.output, "--output");
  if (!a.save_latent.empty()) check_folder_of(a.save_latent, "--save-latent");
  if (a.overwrite) return;
  for (int i = 0; i < a.request.batch_count; ++i) {
    const std::string p = output_path(a.output, i, a.request.batch_count);
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      throw Error(ErrorKind::Usage, p + ": file exists; pass --overwrite to replace it");
    }
  }
}

}  // namespace

void run_generate(const GenerateArgs& args, bool show_progress) {
  GenerateArgs a = args;
  apply_from_png(a, show_progress);  // the recipe under the flags given
  apply_expert_flags(a.experts, a.request);
  check_outputs_free(a);  // fail before minutes of work, not after
  const Request request = resolve_request(a, show_progress);
  set_compute_threads(a.threads);
  Pipeline pipe = Pipeline::load(a.model_path, a.load);
  Result result = pipe.generate(request, progress_printer(show_progress));
  const int count = static_cast<int>(result.images.size());
  for (size_t i = 0; i < result.images.size(); ++i) {
    const std::string path = output_path(a.output, static_cast<int>(i), count);
    if (!a.save_latent.empty()) write_tensor(output_path(a.save_latent, static_cast<int>(i), count), result.latents[i]);
    write_png(path, result.images[i], result.parameters[i], a.overwrite);
    if (show_progress) {  // -q: errors only (the seed is in the PNG's parameters too)
      std::fprintf(stderr, "wrote %s (seed %lld)\n", path.c_str(), static_cast<long long>(result.seeds[i]));
    }
  }
}

}  // namespace pangu_draw::cli
