// OpenBLAS's thread pool next to libtorch's intra-op threads.
//
// Debian's libtorch runs every matmul through OpenBLAS, which keeps a pool of its own sized to the
// cores, beside libtorch's OpenMP pool. Both spin while they wait for work (libgomp's default
// wait policy is active), so once libtorch runs more than one intra-op thread in a process where
// OpenBLAS also runs its pool, spinning threads crowd out working ones: S3Gen on 10 s of audio on
// 2 cores took 74 s with one intra-op thread and more than 600 s with two (docs/benchmarks.md,
// "Stage threads"). The engine therefore makes OpenBLAS single-threaded while work with more
// than one intra-op thread runs, and libtorch's threads parallelise instead.
#pragma once

namespace chatterbox {

// OpenBLAS's current thread count, or -1 where libtorch's BLAS is not OpenBLAS.
int openblas_threads();

// While any instance with `active` true exists in the process, OpenBLAS runs each call on its
// caller's thread only; the last one to go restores the count it found. Does nothing where the
// BLAS is not OpenBLAS (MKL follows libtorch's thread count by itself).
class ScopedSingleThreadedBlas {
 public:
  explicit ScopedSingleThreadedBlas(bool active);
  ~ScopedSingleThreadedBlas();
  ScopedSingleThreadedBlas(const ScopedSingleThreadedBlas&) = delete;
  ScopedSingleThreadedBlas& operator=(const ScopedSingleThreadedBlas&) = delete;

 private:
  bool active_ = false;
};

}  // namespace chatterbox
