// Runs one ExecuTorch program (.pte) the way an app does (extension/module's Module, forward() on one input), for
// two callers: arm64-emu, which counts each inference's instructions between marker system calls under qemu, and an
// Android phone over adb, which times each inference. Linked against the aarch64 executorch wheel's own libraries
// (libexecutorch, the XNNPACK backend, the optimized kernels for ops left outside the delegate), so no torch.
//
//   pte_runner MODE MODEL INPUT WARMUP RUNS   ->  one JSON line on stdout
//
// MODE: "count" brackets inference i with markers 100+2i / 101+2i after an empty pair 1, 2 (the bracketing's own
// cost), as devices/arm64_emu/guest.py does; "time" prints each inference's CLOCK_MONOTONIC nanoseconds.
// INPUT: the input tensor's float32 values, raw little-endian, as the host targets make them (standard normal, seed
// 0), so every runtime sees the same input. Exit 3 when the program cannot be loaded or run (one JSON error line).

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using executorch::extension::from_blob;
using executorch::extension::module::Module;
using executorch::runtime::Error;

namespace {

constexpr long kMarkerSyscall = 0x4D42;  // plugin/count.c's number; Linux has no such call (-ENOSYS)
constexpr int kLoadError = 3;

void mark(long label) { syscall(kMarkerSyscall, label); }

int fail(const char* what, Error error) {
  std::printf("{\"error\": \"load\", \"message\": \"%s (ExecuTorch error 0x%x)\"}\n", what,
              static_cast<unsigned>(error));
  return kLoadError;
}

long long now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 || (std::strcmp(argv[1], "count") != 0 && std::strcmp(argv[1], "time") != 0)) {
    std::fprintf(stderr, "usage: %s count|time MODEL INPUT WARMUP RUNS\n", argv[0]);
    return 2;
  }
  const bool counting = std::strcmp(argv[1], "count") == 0;
  const int warmup = std::atoi(argv[4]);
  const int runs = std::atoi(argv[5]);

  Module module(argv[2], Module::LoadMode::File);
  Error status = module.load_forward();
  if (status != Error::Ok) return fail("cannot load forward", status);
  auto meta = module.method_meta("forward");
  if (!meta.ok()) return fail("no method meta", meta.error());
  auto info = meta->input_tensor_meta(0);
  if (!info.ok()) return fail("input 0 is not a tensor", info.error());
  std::vector<executorch::aten::SizesType> sizes(info->sizes().begin(), info->sizes().end());
  size_t numel = 1;
  for (auto d : sizes) numel *= static_cast<size_t>(d);

  std::vector<float> input(numel);
  std::ifstream file(argv[3], std::ios::binary);
  file.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(numel * sizeof(float)));
  if (file.gcount() != static_cast<std::streamsize>(numel * sizeof(float))) {
    std::printf("{\"error\": \"load\", \"message\": \"%s holds fewer than the %zu floats input 0 takes\"}\n",
                argv[3], numel);
    return kLoadError;
  }
  auto tensor = from_blob(input.data(), sizes);

  for (int i = 0; i < warmup; ++i) {
    auto out = module.forward(tensor);
    if (!out.ok()) return fail("forward failed", out.error());
  }
  std::vector<long long> samples;
  if (counting) {
    mark(1);
    mark(2);
  }
  for (int i = 0; i < runs; ++i) {
    long long start = 0;
    if (counting) mark(100 + 2 * i); else start = now_ns();
    auto out = module.forward(tensor);
    if (counting) mark(101 + 2 * i); else samples.push_back(now_ns() - start);
    if (!out.ok()) return fail("forward failed", out.error());
  }

  std::printf("{\"runtime\": \"executorch\", \"input_dtype\": \"float32\", \"input_shape\": [");
  for (size_t i = 0; i < sizes.size(); ++i) std::printf(i ? ", %d" : "%d", static_cast<int>(sizes[i]));
  std::printf("], \"samples_ns\": [");
  for (size_t i = 0; i < samples.size(); ++i) std::printf(i ? ", %lld" : "%lld", samples[i]);
  std::printf("]}\n");
  return 0;
}
