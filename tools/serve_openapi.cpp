// serve_openapi.cpp: the hand-kept OpenAPI 3 description of `pangu-draw serve`, served at
// /openapi.json. Keep it in step with serve_a1111.cpp / serve_info.cpp (docs/server.md).
#include <string>

#include "serve_http.h"

namespace pangu_draw::serve {

namespace {

const char* const kPaths = R"JSON(
"/health": {"get": {"summary": "Liveness and queue state (no authentication)", "operationId": "health",
  "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
"/sdapi/v1/txt2img": {"post": {"summary": "Text to image", "operationId": "txt2img",
  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TextToImageRequest"}}}},
  "responses": {"200": {"$ref": "#/components/responses/Generation"}, "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"},
    "503": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/img2img": {"post": {"summary": "Image to image and inpainting", "operationId": "img2img",
  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageToImageRequest"}}}},
  "responses": {"200": {"$ref": "#/components/responses/Generation"}, "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"},
    "503": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/progress": {"get": {"summary": "Progress of the running job", "operationId": "progress",
  "parameters": [{"name": "skip_current_image", "in": "query", "required": false, "schema": {"type": "boolean"}}],
  "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProgressResponse"}}}},
    "401": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/interrupt": {"post": {"summary": "Stop the running job at its next step; it answers with the images finished",
  "operationId": "interrupt", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
    "401": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/sd-models": {"get": {"summary": "The loaded model", "operationId": "sd_models",
  "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/SDModelItem"}}}}},
    "401": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/samplers": {"get": {"summary": "Samplers (A1111 names; ours among the aliases)", "operationId": "samplers",
  "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/SamplerItem"}}}}},
    "401": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/schedulers": {"get": {"summary": "Schedule types", "operationId": "schedulers",
  "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/SchedulerItem"}}}}},
    "401": {"$ref": "#/components/responses/Error"}}}},
"/sdapi/v1/options": {
  "get": {"summary": "Server options (a subset of A1111's)", "operationId": "get_options",
    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Options"}}}},
      "401": {"$ref": "#/components/responses/Error"}}},
  "post": {"summary": "Set options; unknown keys are ignored", "operationId": "set_options",
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Options"}}}},
    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"nullable": true}}}},
      "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
      "422": {"$ref": "#/components/responses/Error"}}}}
)JSON";

const char* const kRequestSchemas = R"JSON(
"TextToImageRequest": {"type": "object", "properties": {
  "prompt": {"type": "string", "default": ""},
  "negative_prompt": {"type": "string", "default": ""},
  "seed": {"type": "integer", "minimum": -1, "maximum": 9007199254740992, "default": -1},
  "sampler_name": {"type": "string", "default": "Euler", "description": "A1111 name or ours (GET /sdapi/v1/samplers)"},
  "sampler_index": {"type": "string", "default": "Euler", "description": "used when sampler_name is absent"},
  "scheduler": {"type": "string", "default": "Automatic", "description": "Automatic, Karras, Exponential, SGM Uniform"},
  "steps": {"type": "integer", "minimum": 1, "maximum": 150, "default": 50},
  "cfg_scale": {"type": "number", "minimum": 0, "maximum": 100, "default": 7.0},
  "width": {"type": "integer", "minimum": 0, "maximum": 2048, "multipleOf": 8, "default": 0, "description": "0: the model's native size"},
  "height": {"type": "integer", "minimum": 0, "maximum": 2048, "multipleOf": 8, "default": 0},
  "batch_size": {"type": "integer", "minimum": 1, "maximum": 16, "default": 1},
  "n_iter": {"type": "integer", "minimum": 1, "maximum": 16, "default": 1},
  "eta": {"type": "number", "minimum": 0, "maximum": 10, "nullable": true},
  "send_images": {"type": "boolean", "default": true},
  "save_images": {"type": "boolean", "enum": [false], "default": false},
  "enable_hr": {"type": "boolean", "enum": [false], "default": false},
  "restore_faces": {"type": "boolean", "enum": [false], "nullable": true},
  "tiling": {"type": "boolean", "enum": [false], "nullable": true},
  "styles": {"type": "array", "maxItems": 0, "items": {"type": "string"}, "nullable": true},
  "subseed": {"type": "integer", "description": "ignored"},
  "subseed_strength": {"type": "number", "enum": [0]},
  "denoising_strength": {"type": "number", "minimum": 0, "maximum": 1, "nullable": true, "description": "ignored by txt2img"},
  "override_settings": {"type": "object", "nullable": true, "properties": {
    "CLIP_stop_at_last_layers": {"type": "integer", "minimum": 0, "maximum": 12},
    "eta_ddim": {"type": "number", "minimum": 0, "maximum": 10},
    "sd_model_checkpoint": {"type": "string"}, "sd_vae": {"type": "string", "enum": ["Automatic", "None"]}}},
  "override_settings_restore_afterwards": {"type": "boolean", "description": "ignored"},
  "alwayson_scripts": {"type": "object", "maxProperties": 0, "nullable": true},
  "script_name": {"type": "string", "enum": ["", "None"], "nullable": true},
  "pangu_styles": {"type": "array", "maxItems": 4, "items": {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 1024}, "scale": {"type": "number", "minimum": -100, "maximum": 100}}}},
  "pangu_experts": {"type": "array", "maxItems": 4, "items": {"type": "object", "properties": {
    "weight": {"type": "number", "minimum": 0, "maximum": 1000}, "from_t": {"type": "number", "minimum": -1, "maximum": 1000000},
    "to_t": {"type": "number", "minimum": -1, "maximum": 1000000}, "width": {"type": "integer", "minimum": 0, "maximum": 2048, "multipleOf": 8},
    "height": {"type": "integer", "minimum": 0, "maximum": 2048, "multipleOf": 8}, "cfg_scale": {"type": "number", "minimum": -1, "maximum": 100}}}},
  "pangu_time_decoupled": {"type": "boolean", "default": true, "description": "false: the structure UNet alone (no texture model)"},
  "pangu_switch_t": {"type": "number", "minimum": -1, "maximum": 1000000},
  "pangu_switch_frac": {"type": "number", "minimum": -1, "maximum": 1},
  "pangu_prompt_syntax": {"type": "string", "enum": ["a1111", "plain"]}}},
"ImageToImageRequest": {"allOf": [{"$ref": "#/components/schemas/TextToImageRequest"}, {"type": "object",
  "required": ["init_images"], "properties": {
  "init_images": {"type": "array", "minItems": 1, "maxItems": 1, "items": {"type": "string", "description": "base64 PNG"}},
  "denoising_strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.75},
  "mask": {"type": "string", "nullable": true, "description": "base64 PNG, the init image's size: white = repaint"},
  "mask_blur": {"type": "integer", "minimum": 0, "maximum": 64},
  "mask_blur_x": {"type": "integer", "minimum": 0, "maximum": 64},
  "mask_blur_y": {"type": "integer", "minimum": 0, "maximum": 64},
  "inpainting_fill": {"type": "integer", "enum": [0, 1]},
  "inpaint_full_res": {"type": "boolean", "enum": [false]},
  "inpainting_mask_invert": {"type": "integer", "enum": [0, 1]},
  "resize_mode": {"type": "integer", "description": "ignored: the output takes the init image's size"},
  "pangu_paste_back": {"type": "boolean", "default": true}}}]},
"Options": {"type": "object", "properties": {
  "sd_model_checkpoint": {"type": "string"}, "sd_checkpoint_hash": {"type": "string", "nullable": true},
  "sd_vae": {"type": "string", "enum": ["Automatic", "None"]},
  "CLIP_stop_at_last_layers": {"type": "integer", "minimum": 0, "maximum": 12},
  "eta_ddim": {"type": "number", "minimum": 0, "maximum": 10},
  "samples_format": {"type": "string", "enum": ["png"]}, "samples_save": {"type": "boolean", "enum": [false]},
  "save_images_add_number": {"type": "boolean"}, "live_previews_enable": {"type": "boolean", "enum": [false]},
  "show_progress_every_n_steps": {"type": "integer"}}},
)JSON";

const char* const kAnswerSchemas = R"JSON(
"GenerationResponse": {"type": "object", "required": ["images", "parameters", "info"], "properties": {
  "images": {"type": "array", "items": {"type": "string", "description": "base64 PNG with a 'parameters' text chunk"}},
  "parameters": {"type": "object"}, "info": {"type": "string", "description": "JSON: seed, all_seeds, infotexts, ..."}}},
"ProgressResponse": {"type": "object", "required": ["progress", "eta_relative", "state"], "properties": {
  "progress": {"type": "number", "minimum": 0, "maximum": 1}, "eta_relative": {"type": "number"},
  "state": {"type": "object", "properties": {"interrupted": {"type": "boolean"}, "job_count": {"type": "integer"},
    "job_no": {"type": "integer"}, "sampling_step": {"type": "integer"}, "sampling_steps": {"type": "integer"},
    "queued": {"type": "integer"}, "job_timestamp": {"type": "string"}}},
  "current_image": {"type": "string", "nullable": true}, "textinfo": {"type": "string", "nullable": true}}},
"SDModelItem": {"type": "object", "properties": {"title": {"type": "string"}, "model_name": {"type": "string"},
  "hash": {"type": "string", "nullable": true}, "sha256": {"type": "string", "nullable": true},
  "filename": {"type": "string"}, "config": {"type": "string", "nullable": true}}},
"SamplerItem": {"type": "object", "properties": {"name": {"type": "string"}, "aliases": {"type": "array", "items": {"type": "string"}},
  "options": {"type": "object"}}},
"SchedulerItem": {"type": "object", "properties": {"name": {"type": "string"}, "label": {"type": "string"},
  "aliases": {"type": "array", "items": {"type": "string"}, "nullable": true}}},
"Health": {"type": "object", "properties": {"status": {"type": "string"}, "busy": {"type": "boolean"},
  "queued": {"type": "integer"}, "version": {"type": "string"}}},
"Error": {"type": "object", "required": ["error", "detail"], "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}}
)JSON";

}  // namespace

const std::string& openapi_json() {
  static const std::string kText =
      std::string(R"J({"openapi": "3.0.3", "info": {"title": "pangu-draw serve", "version": "1",)J"
                  R"J( "description": "A1111-compatible /sdapi/v1 subset (docs/server.md)"},)J"
                  R"J( "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},)J"
                  R"J( "responses": {"Error": {"description": "Refused, with what to change",)J"
                  R"J( "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},)J"
                  R"J( "Generation": {"description": "Images and settings",)J"
                  R"J( "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GenerationResponse"}}}}},)J"
                  R"J( "schemas": {)J") +
      kRequestSchemas + kAnswerSchemas + "}}, \"paths\": {" + kPaths + "}}";
  return kText;
}

}  // namespace pangu_draw::serve
