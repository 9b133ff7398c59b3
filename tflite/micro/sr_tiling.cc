#include "sr_tiling.h"

#include <cmath>

namespace keras_sr {

int TileWindows(int length, int tile, int overlap, Window* out, int max_windows) {
  if (length < 1 || tile < 1 || overlap < 0 || tile <= 2 * overlap || max_windows < 1) return -1;
  if (length <= tile) {
    out[0] = {0, length, 0, length};
    return 1;
  }
  int n = 0, start = 0, keep_start = 0;
  while (true) {
    if (n >= max_windows) return -1;
    const int end = start + tile;
    const int keep_end = end >= length ? length : end - overlap;
    out[n++] = {start, end, keep_start, keep_end};
    if (keep_end == length) return n;
    keep_start = keep_end;
    start = keep_end - overlap < length - tile ? keep_end - overlap : length - tile;
  }
}

int8_t QuantizeInt8(float x, float scale, int zero_point) {
  const float q = std::nearbyint(x / scale) + static_cast<float>(zero_point);
  if (q < -128.0f) return -128;
  if (q > 127.0f) return 127;
  return static_cast<int8_t>(q);
}

uint8_t ToUint8(float x) {
  double v = static_cast<double>(x);
  if (!(v > 0.0)) v = 0.0;  // NaN too
  if (v > 1.0) v = 1.0;
  return static_cast<uint8_t>(std::floor(v * 255.0 + 0.5));
}

namespace {

constexpr int kMaxWindows = 256;

void Load(const uint8_t* lr, int w, const Window& row, const Window& col, const TensorFormat& fmt, void* dst) {
  const int th = row.win_end - row.win_start, tw = col.win_end - col.win_start;
  int i = 0;
  for (int y = 0; y < th; ++y) {
    const uint8_t* src = lr + (static_cast<size_t>(row.win_start + y) * w + col.win_start) * 3;
    for (int x = 0; x < tw * 3; ++x, ++i) {
      const float v = static_cast<float>(src[x]) / 255.0f;
      if (fmt.type == TensorType::kFloat32) {
        static_cast<float*>(dst)[i] = v;
      } else {
        static_cast<int8_t*>(dst)[i] = QuantizeInt8(v, fmt.scale, fmt.zero_point);
      }
    }
  }
}

float Value(const void* src, size_t i, const TensorFormat& fmt) {
  if (fmt.type == TensorType::kFloat32) return static_cast<const float*>(src)[i];
  return fmt.scale * static_cast<float>(static_cast<const int8_t*>(src)[i] - fmt.zero_point);
}

}  // namespace

bool UpscaleTiled(const uint8_t* lr, int h, int w, const UpscaleParams& p, TileFn run, void* context,
                  void* input_buffer, void* output_buffer, uint8_t* hr) {
  if (lr == nullptr || hr == nullptr || run == nullptr || h < p.tile_h || w < p.tile_w || p.scale < 1) return false;
  Window rows[kMaxWindows], cols[kMaxWindows];
  const int nr = TileWindows(h, p.tile_h, p.overlap, rows, kMaxWindows);
  const int nc = TileWindows(w, p.tile_w, p.overlap, cols, kMaxWindows);
  if (nr < 0 || nc < 0) return false;
  const int s = p.scale, out_w = s * p.tile_w;
  for (int r = 0; r < nr; ++r) {
    for (int c = 0; c < nc; ++c) {
      Load(lr, w, rows[r], cols[c], p.input, input_buffer);
      if (!run(context, input_buffer, output_buffer)) return false;
      // Keep the centre of the tile output; the context is cropped away (no blending).
      for (int y = s * rows[r].keep_start; y < s * rows[r].keep_end; ++y) {
        const int ty = y - s * rows[r].win_start;
        for (int x = s * cols[c].keep_start; x < s * cols[c].keep_end; ++x) {
          const int tx = x - s * cols[c].win_start;
          for (int k = 0; k < 3; ++k) {
            const size_t src = (static_cast<size_t>(ty) * out_w + tx) * 3 + k;
            hr[(static_cast<size_t>(y) * s * w + x) * 3 + k] = ToUint8(Value(output_buffer, src, p.output));
          }
        }
      }
    }
  }
  return true;
}

}  // namespace keras_sr
