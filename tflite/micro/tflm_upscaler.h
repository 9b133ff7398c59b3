// The thin TFLite Micro layer: a MicroInterpreter over the exported model, behind sr_tiling's TileFn.
//
// NOT compiled in this repository's CI: TFLM's C++ sources cannot be fetched there. It builds
// inside a TFLM project (see README.md). Everything it does besides calling TFLM lives in
// sr_tiling.{h,cc}, which is compiled and tested.
#ifndef KERAS_SR_MICRO_TFLM_UPSCALER_H_
#define KERAS_SR_MICRO_TFLM_UPSCALER_H_

#include <cstddef>
#include <cstdint>

#include "op_resolver.h"  // from the bundle: ModelOpResolver, RegisterModelOps
#include "sr_tiling.h"
#include "tensorflow/lite/micro/micro_interpreter.h"

namespace keras_sr {

class TflmUpscaler {
 public:
  // `model_data`: the bundle's g_model_data; `arena`: at least model.json's micro.arena_bytes,
  // 16-byte aligned; `overlap` and `scale`: model.json's values.
  TflmUpscaler(const unsigned char* model_data, uint8_t* arena, size_t arena_size, int overlap, int scale);

  // Builds the interpreter and allocates tensors; false (with a MicroPrintf line) on failure.
  bool Init();

  // RGB888 LR (h x w x 3) -> RGB888 HR (scale h x scale w x 3), tile by tile.
  bool Upscale(const uint8_t* lr, int h, int w, uint8_t* hr);

 private:
  static bool RunTile(void* context, const void* input, void* output);

  const unsigned char* model_data_;
  uint8_t* arena_;
  size_t arena_size_;
  ModelOpResolver resolver_;
  tflite::MicroInterpreter* interpreter_ = nullptr;
  alignas(tflite::MicroInterpreter) unsigned char interpreter_storage_[sizeof(tflite::MicroInterpreter)];
  UpscaleParams params_{};
};

}  // namespace keras_sr

#endif  // KERAS_SR_MICRO_TFLM_UPSCALER_H_
