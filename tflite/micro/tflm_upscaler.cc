// NOT compiled in this repository's CI (no TFLM sources here): see README.md.
#include "tflm_upscaler.h"

#include <new>

#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace keras_sr {

namespace {

bool Format(const TfLiteTensor* t, TensorFormat* fmt) {
  if (t->type == kTfLiteFloat32) {
    *fmt = {TensorType::kFloat32, 0.0f, 0};
  } else if (t->type == kTfLiteInt8) {
    *fmt = {TensorType::kInt8, t->params.scale, static_cast<int>(t->params.zero_point)};
  } else {
    return false;
  }
  return true;
}

}  // namespace

TflmUpscaler::TflmUpscaler(const unsigned char* model_data, uint8_t* arena, size_t arena_size, int overlap,
                           int scale)
    : model_data_(model_data), arena_(arena), arena_size_(arena_size) {
  params_.overlap = overlap;
  params_.scale = scale;
}

bool TflmUpscaler::Init() {
  const tflite::Model* model = tflite::GetModel(model_data_);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    MicroPrintf("model schema %d != %d", static_cast<int>(model->version()), TFLITE_SCHEMA_VERSION);
    return false;
  }
  if (RegisterModelOps(resolver_) != kTfLiteOk) return false;
  interpreter_ = new (interpreter_storage_) tflite::MicroInterpreter(model, resolver_, arena_, arena_size_);
  if (interpreter_->AllocateTensors() != kTfLiteOk) {
    MicroPrintf("AllocateTensors failed: the arena (%u bytes) is too small", static_cast<unsigned>(arena_size_));
    return false;
  }
  TfLiteTensor* in = interpreter_->input(0);
  TfLiteTensor* out = interpreter_->output(0);
  if (in->dims->size != 4 || out->dims->size != 4 || !Format(in, &params_.input) || !Format(out, &params_.output)) {
    MicroPrintf("the model must take and give NHWC float32 or int8 tensors");
    return false;
  }
  params_.tile_h = in->dims->data[1];
  params_.tile_w = in->dims->data[2];
  return out->dims->data[1] == params_.scale * params_.tile_h;
}

bool TflmUpscaler::RunTile(void* context, const void* /*input*/, void* /*output*/) {
  // UpscaleTiled fills the input tensor's buffer and reads the output tensor's buffer directly.
  return static_cast<TflmUpscaler*>(context)->interpreter_->Invoke() == kTfLiteOk;
}

bool TflmUpscaler::Upscale(const uint8_t* lr, int h, int w, uint8_t* hr) {
  if (interpreter_ == nullptr) return false;
  return UpscaleTiled(lr, h, w, params_, &TflmUpscaler::RunTile, this, interpreter_->input(0)->data.raw,
                      interpreter_->output(0)->data.raw, hr);
}

}  // namespace keras_sr
