// Tile plan, quantization and stitching for super-resolution on a microcontroller.
//
// Plain C++17 with no TFLite Micro include and no heap: the part of the firmware that is
// compiled and unit-tested on a PC (tests/test_micro_firmware.py) against keras_sr.lite.tiling.
// The model itself is reached only through a TileFn callback (see tflm_upscaler.h).
#ifndef KERAS_SR_MICRO_SR_TILING_H_
#define KERAS_SR_MICRO_SR_TILING_H_

#include <cstddef>
#include <cstdint>

namespace keras_sr {

// One window along one axis, in LR image coordinates: the model sees [win_start, win_end)
// and its output for [keep_start, keep_end) is written (keras_sr.lite.tiling.tile_windows).
struct Window {
  int win_start;
  int win_end;
  int keep_start;
  int keep_end;
};

// Splits an axis of `length` pixels into windows of `tile` pixels keeping `overlap` pixels of
// context per side. Writes at most `max_windows`; returns the number of windows, or -1 when
// the arguments are invalid (tile <= 2 * overlap, length < 1) or `max_windows` is too small.
int TileWindows(int length, int tile, int overlap, Window* out, int max_windows);

// How the model's input or output tensor stores a pixel value in [0, 1].
enum class TensorType { kFloat32, kInt8 };

struct TensorFormat {
  TensorType type;
  float scale;      // int8 only: real = scale * (q - zero_point)
  int zero_point;   // int8 only
};

// int8 quantization as TFLite does it: clamp(round(x / scale) + zero_point, -128, 127).
int8_t QuantizeInt8(float x, float scale, int zero_point);

// A float in [0, 1] to uint8 as keras_sr.metrics.to_uint8 (MATLAB im2uint8): floor(255 x + 0.5).
uint8_t ToUint8(float x);

// Runs the model on one tile: `input` holds tile_h x tile_w x 3 values, `output` receives
// (scale tile_h) x (scale tile_w) x 3 values, both in the formats given to UpscaleTiled.
// Returns false on failure.
typedef bool (*TileFn)(void* context, const void* input, void* output);

struct UpscaleParams {
  int tile_h, tile_w;      // the model's fixed LR input size
  int overlap;             // context pixels per window side
  int scale;               // upscaling factor
  TensorFormat input, output;
};

// Upscales an RGB888 LR image (h x w x 3 bytes, row-major) into `hr` (scale h x scale w x 3)
// tile by tile. The image must be at least one tile in each direction. `input_buffer` and
// `output_buffer` hold one model input and output (in their formats; the TFLM layer passes
// its tensors' data). Returns false on bad arguments or a failing `run`.
bool UpscaleTiled(const uint8_t* lr, int h, int w, const UpscaleParams& params, TileFn run, void* context,
                  void* input_buffer, void* output_buffer, uint8_t* hr);

}  // namespace keras_sr

#endif  // KERAS_SR_MICRO_SR_TILING_H_
