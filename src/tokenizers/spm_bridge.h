// spm_bridge.h: the C API of pd_spm_bridge, a plug-in that wraps libsentencepiece. The engine
// dlopen()s it (spm.cpp) instead of linking sentencepiece, whose bundled protobuf clashes with
// libtorch's. Every call returns 0 on success, else copies a message into err[err_size].
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PD_SPM_BRIDGE_API_VERSION 1

typedef struct PdSpmModel PdSpmModel;

int pd_spm_api_version(void);
int pd_spm_load(const char* model_path, PdSpmModel** model, char* err, size_t err_size);
void pd_spm_free(PdSpmModel* model);
// ids[capacity]; *count = the number of ids (may exceed capacity: call again with more room).
int pd_spm_encode(const PdSpmModel* model, const char* text, size_t text_size, int32_t* ids,
                  size_t capacity, size_t* count, char* err, size_t err_size);
// out[capacity] (not terminated); *size = the bytes of the decoded text (may exceed capacity).
int pd_spm_decode(const PdSpmModel* model, const int32_t* ids, size_t num_ids, char* out,
                  size_t capacity, size_t* size, char* err, size_t err_size);
// -1 for ids out of range; *size as for decode.
int pd_spm_id_to_piece(const PdSpmModel* model, int32_t id, char* out, size_t capacity,
                       size_t* size);
int32_t pd_spm_piece_to_id(const PdSpmModel* model, const char* piece);
int32_t pd_spm_vocab_size(const PdSpmModel* model);
// which: 0 unk, 1 bos, 2 eos, 3 pad (-1 when the model has none).
int32_t pd_spm_special_id(const PdSpmModel* model, int which);
// Trains <model_prefix>.model/.vocab from a text file (one sentence per line); `extra` holds
// more trainer flags as "key=value\n" lines (may be empty).
int pd_spm_train(const char* input_path, const char* model_prefix, int32_t vocab_size,
                 const char* model_type, double character_coverage, const char* extra, char* err,
                 size_t err_size);

#ifdef __cplusplus
}
#endif
