// What the first transfer that needs libcurl waits for (http/curl_api.cpp): dlopen of libcurl.so.4
// with its dependency tree, and curl_global_init. One load per process, so one figure per run:
//   for i in 1 2 3 4 5; do build-bench/bench/bench_curl_load; done
#include <curl/curl.h>
#include <dlfcn.h>

#include <chrono>
#include <cstdio>

int main() {
  using Clock = std::chrono::steady_clock;
  const auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const auto t0 = Clock::now();
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  const auto t1 = Clock::now();
  auto* init = reinterpret_cast<decltype(&curl_global_init)>(dlsym(lib, "curl_global_init"));
  if (init == nullptr || init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::fprintf(stderr, "curl_global_init failed\n");
    return 1;
  }
  const auto t2 = Clock::now();
  std::printf("dlopen %.2f ms, curl_global_init %.2f ms, total %.2f ms\n", ms(t1 - t0), ms(t2 - t1), ms(t2 - t0));
  return 0;
}
