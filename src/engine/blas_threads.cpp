#include "engine/blas_threads.h"

#include <dlfcn.h>

#include <mutex>

namespace chatterbox {
namespace {

struct OpenBlasThreads {
  void (*set)(int) = nullptr;
  int (*get)() = nullptr;
};

// Looked up at run time, so that the engine links against whatever BLAS libtorch uses. The
// library is searched by name first: a GStreamer plugin is loaded with local symbol binding, so
// its dependencies' symbols are not in the global scope that RTLD_DEFAULT searches.
const OpenBlasThreads& openblas() {
  static const OpenBlasThreads fns = [] {
    OpenBlasThreads f;
    void* lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD);
    void* scope = lib ? lib : RTLD_DEFAULT;
    f.set = reinterpret_cast<void (*)(int)>(dlsym(scope, "openblas_set_num_threads"));
    f.get = reinterpret_cast<int (*)()>(dlsym(scope, "openblas_get_num_threads"));
    if (!f.set || !f.get) f = OpenBlasThreads();
    return f;  // the handle stays open: libtorch keeps the library loaded anyway
  }();
  return fns;
}

std::mutex holders_mutex;
int holders = 0;        // active instances, under holders_mutex
int saved_threads = 0;  // OpenBLAS's count before the first of them, under holders_mutex

}  // namespace

int openblas_threads() {
  const OpenBlasThreads& blas = openblas();
  return blas.get ? blas.get() : -1;
}

ScopedSingleThreadedBlas::ScopedSingleThreadedBlas(bool active) {
  const OpenBlasThreads& blas = openblas();
  if (!active || !blas.set) return;
  active_ = true;
  std::lock_guard<std::mutex> lock(holders_mutex);
  if (holders++ == 0) {
    saved_threads = blas.get();
    if (saved_threads > 1) blas.set(1);
  }
}

ScopedSingleThreadedBlas::~ScopedSingleThreadedBlas() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(holders_mutex);
  if (--holders == 0 && saved_threads > 1) openblas().set(saved_threads);
}

}  // namespace chatterbox
