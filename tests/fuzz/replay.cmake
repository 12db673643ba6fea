# The corpus replay test (normal gcc build): every file of tests/fuzz/corpus/<parser>/ through its
# parser; no crash, and each rejection is a pangu_draw::Error with a message.
pd_add_test(test_fuzz_corpus MODULES tokenizers nn unet vae schedulers text_encoders SOURCES
  tests/fuzz/test_corpus.cpp tests/fuzz/test_bounds.cpp tests/fuzz/scratch.cpp
  tests/fuzz/harness_io.cpp tests/fuzz/harness_config.cpp tests/fuzz/harness_tokenizers.cpp tests/fuzz/harness_spm.cpp
  tests/fuzz/harness_prompts.cpp tools/batch_items.cpp src/api/request_validate.cpp
  src/api/edit_request.cpp)
target_include_directories(test_fuzz_corpus PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tools)
target_compile_definitions(test_fuzz_corpus PRIVATE
  PD_FUZZ_CORPUS="${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/corpus")
