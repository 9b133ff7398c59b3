// Test driver for sr_tiling (built with g++ by tests/test_micro_firmware.py; no TFLM).
//   golden_main plan LENGTH TILE OVERLAP               -> one "ws we ks ke" line per window (or "error")
//   golden_main upscale IN.bin H W TH TW OVERLAP SCALE IN_TYPE IN_SCALE IN_ZP OUT_TYPE OUT_SCALE OUT_ZP OUT.bin
// The upscale mode runs a stand-in model whose output depends on the whole tile, so a wrong
// window or a wrong crop changes the result:  out(y, x, k) = 0.5 in(y / s, x / s, k) + 0.25 in(0, 0, k).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sr_tiling.h"

using keras_sr::TensorFormat;
using keras_sr::TensorType;

namespace {

struct Fake {
  int th, tw, s;
  TensorFormat in, out;
};

float In(const Fake& f, const void* src, int i) {
  if (f.in.type == TensorType::kFloat32) return static_cast<const float*>(src)[i];
  return f.in.scale * static_cast<float>(static_cast<const int8_t*>(src)[i] - f.in.zero_point);
}

bool FakeModel(void* context, const void* input, void* output) {
  const Fake& f = *static_cast<Fake*>(context);
  const int ow = f.s * f.tw;
  for (int y = 0; y < f.s * f.th; ++y) {
    for (int x = 0; x < ow; ++x) {
      for (int k = 0; k < 3; ++k) {
        const float v = 0.5f * In(f, input, ((y / f.s) * f.tw + x / f.s) * 3 + k) + 0.25f * In(f, input, k);
        const int o = (y * ow + x) * 3 + k;
        if (f.out.type == TensorType::kFloat32) {
          static_cast<float*>(output)[o] = v;
        } else {
          static_cast<int8_t*>(output)[o] = keras_sr::QuantizeInt8(v, f.out.scale, f.out.zero_point);
        }
      }
    }
  }
  return true;
}

TensorFormat Parse(const char* type, const char* scale, const char* zp) {
  const bool int8 = std::strcmp(type, "int8") == 0;
  return {int8 ? TensorType::kInt8 : TensorType::kFloat32, static_cast<float>(std::atof(scale)), std::atoi(zp)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "plan") == 0) {
    keras_sr::Window windows[1024];
    const int n = keras_sr::TileWindows(std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]), windows, 1024);
    if (n < 0) {
      std::printf("error\n");
      return 0;
    }
    for (int i = 0; i < n; ++i) {
      std::printf("%d %d %d %d\n", windows[i].win_start, windows[i].win_end, windows[i].keep_start, windows[i].keep_end);
    }
    return 0;
  }
  if (argc == 16 && std::strcmp(argv[1], "upscale") == 0) {
    const int h = std::atoi(argv[3]), w = std::atoi(argv[4]);
    Fake f{std::atoi(argv[5]), std::atoi(argv[6]), std::atoi(argv[8]), Parse(argv[9], argv[10], argv[11]),
           Parse(argv[12], argv[13], argv[14])};
    keras_sr::UpscaleParams p{f.th, f.tw, std::atoi(argv[7]), f.s, f.in, f.out};
    std::vector<uint8_t> lr(static_cast<size_t>(h) * w * 3), hr(static_cast<size_t>(f.s * h) * f.s * w * 3);
    FILE* in = std::fopen(argv[2], "rb");
    if (in == nullptr || std::fread(lr.data(), 1, lr.size(), in) != lr.size()) return 3;
    std::fclose(in);
    std::vector<float> in_buf(static_cast<size_t>(f.th) * f.tw * 3), out_buf(static_cast<size_t>(f.s * f.th) * f.s * f.tw * 3);
    if (!keras_sr::UpscaleTiled(lr.data(), h, w, p, FakeModel, &f, in_buf.data(), out_buf.data(), hr.data())) return 4;
    FILE* out = std::fopen(argv[15], "wb");
    if (out == nullptr || std::fwrite(hr.data(), 1, hr.size(), out) != hr.size()) return 5;
    std::fclose(out);
    return 0;
  }
  std::fprintf(stderr, "usage: golden_main plan LENGTH TILE OVERLAP | upscale ... (see the top of this file)\n");
  return 2;
}
