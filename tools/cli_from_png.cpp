// cli_from_png.cpp: a PNG's A1111 recipe -> the generate arguments (see cli_from_png.h and
// docs/recipes.md). A1111's keys (txt2img / img2img) and our own (src/api/infotext.cpp writes
// them) map onto flags; a flag given on the command line wins over the recipe.
#include "cli_from_png.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <system_error>

#include "cli_recipe.h"

namespace pangu_draw::cli {

namespace {

std::string trimmed(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// Reads the recipe's values into the arguments, remembering which keys it used.
class Recipe {
 public:
  Recipe(const Infotext& in, const std::string& source, GenerateArgs& a) : in_(in), src_(source), a_(a) {}

  // The value of `key` when the recipe has it and `flag` was not given ("" flag: no flag).
  const std::string* take(const std::string& key, const std::string& flag = "") {
    if (!in_.has(key)) return nullptr;
    used_.insert(key);
    if (!flag.empty() && given(flag)) return nullptr;
    value_ = in_.get(key);
    return &value_;
  }
  bool given(const std::string& flag) const { return a_.given.count(flag) > 0; }
  bool has(const std::string& key) const { return in_.has(key); }
  void use(const std::string& key) { used_.insert(key); }

  double number(const std::string& key, const std::string& v) const {
    const std::string t = trimmed(v);
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(d) || errno == ERANGE) {
      bad(key, v, "a number");
    }
    return d;
  }
  int64_t whole(const std::string& key, const std::string& v, double lo, double hi) const {
    const std::string t = trimmed(v);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(t.c_str(), &end, 10);
    if (!t.empty() && end == t.c_str() + t.size() && errno == 0 && n >= lo && n <= hi) return n;
    const double d = std::strtod(t.c_str(), &end);  // "20.0" is 20, as A1111's int(float(v))
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(d) || d != std::floor(d) || d < lo ||
        d > hi || std::fabs(d) > 9007199254740992.0) {
      bad(key, v, "a whole number in [" + std::to_string(static_cast<long long>(lo)) + ", " +
                      std::to_string(static_cast<long long>(hi)) + "]");
    }
    return static_cast<int64_t>(d);
  }
  [[noreturn]] void bad(const std::string& key, const std::string& v, const std::string& want) const {
    throw Error(ErrorKind::Input, src_ + ": the recipe's \"" + key + ": " + v + "\" is not " + want +
                                      "; fix the text or give the value as a flag");
  }

  // Keys of the recipe no mapping used, in the recipe's order.
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& kv : in_.settings) {
      if (!used_.count(kv.first) && std::find(out.begin(), out.end(), kv.first) == out.end()) out.push_back(kv.first);
    }
    return out;
  }

  const Infotext& in_;
  const std::string& src_;
  GenerateArgs& a_;

 private:
  std::set<std::string> used_;
  std::string value_;
};

void apply_sampling(Recipe& rc) {
  Request& r = rc.a_.request;
  if (auto* v = rc.take("Steps", "--steps")) r.steps = static_cast<int>(rc.whole("Steps", *v, 1, 1000));
  const bool own_sampler = rc.given("--sampler");
  if (auto* v = rc.take("Sampler", "--sampler")) r.sampler = trimmed(*v);
  // A sampler given on the command line brings its own schedule; the recipe's goes with its sampler.
  if (auto* v = rc.take("Schedule type", "--schedule"); v && !own_sampler) r.schedule = trimmed(*v);
  if (auto* v = rc.take("CFG scale", "--cfg-scale")) r.cfg_scale = static_cast<float>(rc.number("CFG scale", *v));
  if (auto* v = rc.take("Seed", "--seed")) r.seed = rc.whole("Seed", *v, -1, 9.2e18);
  if (auto* v = rc.take("Eta DDIM", "--eta")) r.eta = static_cast<float>(rc.number("Eta DDIM", *v));
  std::string sampler = r.sampler;
  for (char& c : sampler) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (rc.has("Eta") && sampler == "ddim" && !rc.has("Eta DDIM")) {  // A1111 < 1.6: DDIM's eta
    if (auto* v = rc.take("Eta", "--eta")) r.eta = static_cast<float>(rc.number("Eta", *v));
  }
  if (auto* v = rc.take("Dynamic threshold", "--dynamic-threshold"))
    r.dynamic_threshold = static_cast<float>(rc.number("Dynamic threshold", *v));
  if (auto* v = rc.take("Dynamic threshold max", "--dynamic-threshold-max"))
    r.dynamic_threshold_max = static_cast<float>(rc.number("Dynamic threshold max", *v));
  if (auto* v = rc.take("Dynamic threshold range", "--dynamic-threshold-range"))
    r.dynamic_threshold_range = static_cast<float>(rc.number("Dynamic threshold range", *v));
  if (auto* v = rc.take("VAE tile", "--vae-tile")) r.vae_tile = static_cast<int>(rc.whole("VAE tile", *v, -1, 1 << 20));
}

// "Size: WxH" (the image's size; an init image decides it in an edit).
void apply_size(Recipe& rc) {
  Request& r = rc.a_.request;
  const std::string* v = rc.has("Size") && rc.a_.init_image.empty() ? rc.take("Size") : nullptr;
  if (!v) {
    rc.use("Size");
    return;
  }
  const std::string size = trimmed(*v);
  const size_t x = size.find('x');
  if (x == std::string::npos || x == 0 || x + 1 == size.size() ||
      size.find_first_not_of("0123456789x") != std::string::npos || size.find('x', x + 1) != std::string::npos) {
    rc.bad("Size", *v, "WIDTHxHEIGHT");
  }
  if (!rc.given("--width")) r.width = static_cast<int>(rc.whole("Size", size.substr(0, x), 8, 1 << 16));
  if (!rc.given("--height")) r.height = static_cast<int>(rc.whole("Size", size.substr(x + 1), 8, 1 << 16));
}

void apply_prompt(Recipe& rc) {
  Request& r = rc.a_.request;
  if (!rc.given("--prompt")) {
    if (rc.in_.prompt.empty()) {
      throw Error(ErrorKind::Input, rc.src_ + ": the recipe has no prompt; give one with --prompt");
    }
    r.prompt = rc.in_.prompt;
    if (auto* v = rc.take("Original prompt")) r.original_prompt = *v;
  }
  rc.use("Original prompt");
  if (!rc.given("--negative-prompt")) r.negative_prompt = rc.in_.negative_prompt;
  if (auto* v = rc.take("Prompt syntax", "--prompt-syntax")) {
    if (*v != "a1111" && *v != "plain") rc.bad("Prompt syntax", *v, "a1111 or plain");
    r.prompt_syntax = *v;
  }
  if (auto* v = rc.take("Clip skip", "--clip-skip")) r.clip_skip = static_cast<int>(rc.whole("Clip skip", *v, 0, 1000));
}

// "name: hash, name2: hash2" / "name: 0.8, ..." -> (name, value) pairs.
std::vector<std::pair<std::string, std::string>> name_list(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const size_t colon = item.rfind(':');
    const std::string name = trimmed(item.substr(0, colon));
    if (!name.empty()) out.emplace_back(name, colon == std::string::npos ? "" : trimmed(item.substr(colon + 1)));
    start = comma + 1;
  }
  return out;
}

// Our "Lora weights" (LoRAs given by file, not by prompt tags) are found in --lora-dir; A1111's
// "TI hashes" name the embeddings the prompts used: a missing one is warned about.
void apply_networks(Recipe& rc) {
  GenerateArgs& a = rc.a_;
  if (auto* v = rc.take("Lora weights", "--lora")) {
    for (const auto& [name, weight] : name_list(*v)) {
      if (a.lora_dir.empty()) {
        throw Error(ErrorKind::Usage, rc.src_ + ": the recipe applies the LoRA '" + name + "' (weight " + weight +
                                          "); pass --lora-dir DIR with " + name + ".safetensors in it, or --lora FILE:" + weight);
      }
      const auto w = static_cast<float>(rc.number("Lora weights", weight));
      a.request.loras.push_back(Lora{(std::filesystem::path(a.lora_dir) / (name + ".safetensors")).string(), w, nullptr});
    }
  }
  rc.use("Lora hashes");  // the names are the prompt's tags, resolved in --lora-dir
  auto* ti = rc.take("TI hashes");
  if (!ti) return;
  std::string missing;
  for (const auto& item : name_list(*ti)) {
    bool found = false;
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(a.embedding_dir.empty() ? "/nonexistent" : a.embedding_dir, ec), end;
         !ec && it != end && !found; it.increment(ec)) {
      found = it->path().stem() == item.first && it->path().extension() == ".safetensors";
    }
    if (!found) missing += (missing.empty() ? "" : ", ") + item.first;
  }
  if (!missing.empty()) {
    warn(rc.src_ + ": the recipe's prompts use the embeddings " + missing + " (TI hashes), not found as .safetensors in " +
         (a.embedding_dir.empty() ? "any --embedding-dir" : "--embedding-dir " + a.embedding_dir) +
         "; without them their names are read as words");
  }
}

// A1111's Hires fix (a second, upscaled img2img pass, not done here) writes "Hires ..." keys.
bool hires_fix(const Infotext& in) {
  for (const auto& kv : in.settings) {
    if (kv.first.rfind("Hires ", 0) == 0) return true;
  }
  return false;
}

// An img2img / inpainting recipe's settings apply to the --init-image / --mask-image given.
void apply_editing(Recipe& rc) {
  GenerateArgs& a = rc.a_;
  if (!a.init_image.empty()) {
    if (auto* v = rc.take("Denoising strength", "--strength"))
      a.request.strength = static_cast<float>(rc.number("Denoising strength", *v));
  } else if (rc.has("Denoising strength") && !hires_fix(rc.in_)) {  // with Hires fix: that pass's
    rc.use("Denoising strength");
    warn(rc.src_ + ": the recipe edits an image (Denoising strength: " + rc.in_.get("Denoising strength") +
         "); give that image with --init-image to rerun it, else it runs as text-to-image");
  }
  if (auto* v = !a.mask_image.empty() ? rc.take("Mask blur", "--mask-blur") : nullptr)
    a.request.mask_blur = static_cast<int>(rc.whole("Mask blur", *v, 0, 1 << 16));
  rc.use("Mask blur");
  if (!rc.has("ControlNet")) return;
  rc.use("ControlNet");
  if (a.request.controlnet_path.empty()) {
    warn(rc.src_ + ": the recipe used the ControlNet " + rc.in_.get("ControlNet") +
         "; give --controlnet and --control-image to rerun it with one");
    rc.use("Control scale");
  } else if (auto* v = rc.take("Control scale", "--control-scale")) {
    a.request.control_scale = static_cast<float>(rc.number("Control scale", *v));
  }
}

// "NAME wW" or "NAME wW t[TO,FROM)", as infotext.cpp writes an expert.
struct ExpertText {
  std::string name;
  double weight = 0, to_t = -1, from_t = -1;
  bool ok = false;
};

ExpertText expert_text(const Recipe& rc, const std::string& key, const std::string& v) {
  ExpertText e;
  std::string rest = v;
  const size_t t = rest.rfind(" t[");
  if (t != std::string::npos && rest.back() == ')') {
    const std::string range = rest.substr(t + 3, rest.size() - t - 4);
    const size_t comma = range.find(',');
    if (comma == std::string::npos) return e;
    e.to_t = rc.number(key, range.substr(0, comma));
    e.from_t = rc.number(key, range.substr(comma + 1));
    rest = rest.substr(0, t);
  }
  const size_t w = rest.rfind(" w");
  if (w == std::string::npos) return e;
  e.weight = rc.number(key, rest.substr(w + 2));
  e.name = rest.substr(0, w);
  e.ok = true;
  return e;
}

// Styles come back; the model's own structure -> texture plan comes back as its hand-over
// timestep; other experts name models by label only, so they are reported.
void apply_plan(Recipe& rc) {
  ExpertArgs& x = rc.a_.experts;
  for (const auto& [key, value] : rc.in_.settings) {
    if (key != "Style" && key.rfind("Style ", 0) != 0) continue;
    rc.use(key);
    if (rc.given("--style")) continue;
    const size_t sp = value.rfind(' ');
    if (sp == std::string::npos) rc.bad(key, value, "\"STYLE SCALE\"");
    x.styles.push_back(value.substr(0, sp));
    x.style_scales.push_back(static_cast<float>(rc.number(key, value.substr(sp + 1))));
  }
  if (rc.take("Time-decoupled", "--no-time-decoupled")) x.single_unet = true;
  std::vector<ExpertText> experts;
  for (const auto& [key, value] : rc.in_.settings) {
    if (key != "Expert" && key.rfind("Expert ", 0) != 0) continue;
    rc.use(key);
    experts.push_back(expert_text(rc, key, value));
  }
  if (experts.empty()) return;
  const bool own_plan = experts.size() == 2 && experts[0].ok && experts[1].ok && experts[0].weight == 1 &&
                        experts[1].weight == 1 && experts[0].from_t == -1 && experts[1].to_t == -1 &&
                        experts[0].to_t == experts[1].from_t && experts[0].to_t >= 0 &&
                        experts[1].name.rfind(experts[0].name + "/", 0) == 0;
  const bool flags = rc.given("--switch-t") || rc.given("--switch-frac") || rc.given("--expert") ||
                     rc.given("--texture-model") || rc.given("--no-time-decoupled");
  if (own_plan && !flags) {
    x.switch_t = static_cast<float>(experts[0].to_t);
  } else if (!own_plan) {
    warn(rc.src_ + ": the recipe ran several models (its Expert entries name them by label only); "
         "give them with --expert or --texture-model to rerun it");
  }
}

void report(Recipe& rc, bool show) {
  const std::string model = rc.in_.get("Model"), hash = rc.in_.get("Model hash");
  rc.use("Model");
  rc.use("Model hash");
  rc.use("Version");
  if (show && (!model.empty() || !hash.empty())) {
    std::fprintf(stderr, "[info] %s: the recipe names the model %s%s; --model %s is used\n", rc.src_.c_str(),
                 model.empty() ? "(no name)" : model.c_str(), hash.empty() ? "" : (" (hash " + hash + ")").c_str(),
                 rc.a_.model_path.c_str());
  }
  std::string missing;
  for (const char* key : {"Steps", "Sampler", "Seed"}) {
    if (!rc.has(key)) missing += (missing.empty() ? "" : ", ") + std::string(key);
  }
  if (!missing.empty()) warn(rc.src_ + ": the recipe gives no " + missing + "; the defaults (or flags) are used");
  std::string unused;
  for (const auto& key : rc.unused()) unused += (unused.empty() ? "" : ", ") + key;
  if (!unused.empty()) warn(rc.src_ + ": recipe settings not used here: " + unused);
}

void apply_recipe_rest(Recipe& rc, bool show) {
  apply_editing(rc);
  apply_plan(rc);
  report(rc, show);
}

}  // namespace

void add_from_png_flag(CLI::App& cmd, GenerateArgs& a) {
  cmd.add_option("--from-png", a.from_png,
                 "Rerun the recipe in a PNG's A1111 parameters text (A1111, Forge, Civitai or ours); "
                 "flags given here override its values")
      ->group("Prompt");
  cmd.final_callback([&cmd, &a] {
    for (const CLI::Option* o : cmd.get_options()) {
      if (o->count() > 0) a.given.insert(o->get_name());
    }
    if (!a.given.count("--prompt") && a.from_png.empty()) throw CLI::RequiredError("--prompt");
  });
}

void apply_recipe(const Infotext& recipe, const std::string& source, GenerateArgs& a, bool show) {
  if (recipe.settings.empty()) {
    throw Error(ErrorKind::Input, source + ": the parameters text has no settings line (\"Steps: 20, Sampler: "
                                           "Euler a, CFG scale: 7, Seed: 1, Size: 512x512, ...\"); is it an "
                                           "A1111 recipe?");
  }
  Recipe rc(recipe, source, a);
  apply_prompt(rc);
  apply_sampling(rc);
  apply_size(rc);
  apply_networks(rc);
  apply_recipe_rest(rc, show);
}

void apply_from_png(GenerateArgs& a, bool show) {
  if (a.from_png.empty()) return;
  const std::string text = read_png_text(a.from_png, "parameters");
  if (text.empty()) {
    throw Error(ErrorKind::Input, a.from_png + ": the PNG has no \"parameters\" text; --from-png reads the recipe "
                                               "A1111, Forge and pangu-draw store in their PNGs");
  }
  apply_recipe(parse_infotext(text), "--from-png " + a.from_png, a, show);
}

}  // namespace pangu_draw::cli
