// A program that links the installed pangu-draw library: load a model, draw a prompt, save it.
// Usage: pangu_draw_minimal MODEL_DIR "prompt" out.png
#include <pangu_draw/pangu_draw.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL_DIR PROMPT OUT.png\n", argv[0]);
    return 1;
  }
  try {
    pangu_draw::Pipeline pipe = pangu_draw::Pipeline::load(argv[1]);
    pangu_draw::Request request;
    request.prompt = argv[2];
    request.steps = 8;
    request.seed = 1;
    pangu_draw::Result result = pipe.generate(request, [](int step, int steps) {
      std::fprintf(stderr, "\rstep %d/%d", step, steps);
      return true;
    });
    std::fprintf(stderr, "\n");
    pangu_draw::write_png(argv[3], result.images.at(0), result.parameters.at(0));
    std::printf("%s: %dx%d, seed %lld\n", argv[3], result.images[0].width, result.images[0].height,
                static_cast<long long>(result.seeds[0]));
    return 0;
  } catch (const pangu_draw::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.kind);
  }
}
