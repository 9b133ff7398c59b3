// A minimal firmware entry point: upscale one RGB888 frame from a buffer into a buffer.
// NOT compiled in this repository's CI (no TFLM sources here): see README.md.
#include <cstdint>

#include "model_data.h"  // from the bundle
#include "tflm_upscaler.h"

namespace {
// model.json: micro.arena_bytes (plus a little margin for your TFLM build), overlap, scale.
constexpr size_t kArenaSize = 200 * 1024;
constexpr int kOverlap = 3;
constexpr int kScale = 2;
constexpr int kLrH = 48, kLrW = 64;

alignas(16) uint8_t g_arena[kArenaSize];
uint8_t g_lr[kLrH * kLrW * 3];                     // filled by the camera / UART / SD card
uint8_t g_hr[kScale * kLrH * kScale * kLrW * 3];  // sent on by the application
}  // namespace

int main() {
  keras_sr::TflmUpscaler upscaler(g_model_data, g_arena, kArenaSize, kOverlap, kScale);
  if (!upscaler.Init()) return 1;
  return upscaler.Upscale(g_lr, kLrH, kLrW, g_hr) ? 0 : 1;
}
