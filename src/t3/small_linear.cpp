// small_linear: one pass over the weight for all (few) rows of x. See small_linear.h.
#include "t3/small_linear.h"

#include <ATen/Parallel.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "common/error.h"

#if defined(__x86_64__) || defined(_M_X64)
// GCC 12 warns inside its own AVX-512 headers (_mm512_reduce_add_ps, _mm512_setzero_ps): a
// known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define CHATTERBOX_X86 1
#endif

namespace chatterbox {
namespace {

// Runs fn(b0, b1) over [0, blocks) on up to at::get_num_threads() threads: this one plus tasks on
// libtorch's inter-op pool (at::launch). Not at::parallel_for: its OpenMP body is an inline
// template that compiles to a serial loop unless the including file is built with -fopenmp, which
// the engine is not. A part whose pool task has not started when this thread is done with its own
// is taken back and run here, so a busy or single-threaded pool (or a call from inside a pool
// task) costs time, never a deadlock.
struct SplitState {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<char> claimed;  // per part, under mu
  int64_t active = 0;         // parts claimed by pool tasks and still running, under mu
  std::exception_ptr error;
};

template <typename Fn>
void run_split(int64_t blocks, const Fn& fn) {
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), blocks);
  if (threads <= 1) {
    fn(0, blocks);
    return;
  }
  const int64_t chunk = (blocks + threads - 1) / threads;
  auto state = std::make_shared<SplitState>();
  state->claimed.assign(size_t(threads), 0);
  state->claimed[0] = 1;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t b0 = t * chunk, b1 = std::min(blocks, b0 + chunk);
    // The task may start after run_split returned (its part taken back): it then touches only
    // the shared state, never fn.
    at::launch([state, t, b0, b1, &fn] {
      {
        std::lock_guard<std::mutex> lock(state->mu);
        if (state->claimed[t]) return;
        state->claimed[t] = 1;
        ++state->active;
      }
      std::exception_ptr e;
      try {
        if (b0 < b1) fn(b0, b1);
      } catch (...) {
        e = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(state->mu);
      if (e && !state->error) state->error = e;
      if (--state->active == 0) state->cv.notify_all();
    });
  }
  fn(0, std::min(blocks, chunk));
  for (int64_t t = 1; t < threads; ++t) {
    bool mine = false;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (!state->claimed[t]) state->claimed[t] = mine = 1;
    }
    if (mine) fn(t * chunk, std::min(blocks, (t + 1) * chunk));
  }
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->active == 0; });
  if (state->error) std::rethrow_exception(state->error);
}

// Output rows go to the threads in blocks of 64: big enough to amortise the thread hand-off,
// small enough that both threads get equal shares of every matrix in T3 (N >= 1024).
constexpr int64_t kRowBlock = 64;

// Runs rows_fn(n0, n1) over the output rows [0, N) in kRowBlock blocks split by run_split.
template <typename RowsFn>
void split_output_rows(int64_t N, const RowsFn& rows_fn) {
  const int64_t blocks = (N + kRowBlock - 1) / kRowBlock;
  run_split(blocks,
            [&](int64_t b0, int64_t b1) { rows_fn(b0 * kRowBlock, std::min(N, b1 * kRowBlock)); });
}

// As split_output_rows, for kernels compiled per activation row count: rows_fn(kM, n0, n1) with
// kM a std::integral_constant<int, min(M, 4)> (callers pass M <= 4).
template <typename RowsFn>
void split_output_rows_for(int64_t M, int64_t N, const RowsFn& rows_fn) {
  split_output_rows(N, [&](int64_t n0, int64_t n1) {
    switch (M) {
      case 1:
        rows_fn(std::integral_constant<int, 1>(), n0, n1);
        break;
      case 2:
        rows_fn(std::integral_constant<int, 2>(), n0, n1);
        break;
      case 3:
        rows_fn(std::integral_constant<int, 3>(), n0, n1);
        break;
      default:
        rows_fn(std::integral_constant<int, 4>(), n0, n1);
        break;
    }
  });
}

// What a finished dot product becomes: times the row's int8 scale, plus the bias.
struct Epilogue {
  const float* scale = nullptr;  // [N] or null
  const float* bias = nullptr;   // [N] or null
  float operator()(float sum, int64_t n) const {
    if (scale) sum *= scale[n];
    if (bias) sum += bias[n];
    return sum;
  }
};

// Portable loop, same traversal (each weight row read once for all M rows of x).
template <typename W>
void scalar_rows(const W* w, const float* x, const Epilogue& e, float* y, int64_t M, int64_t K,
                 int64_t N, int64_t n0, int64_t n1) {
  float acc[kSmallLinearMaxRows];
  for (int64_t n = n0; n < n1; ++n) {
    const W* wr = w + n * K;
    for (int64_t m = 0; m < M; ++m) acc[m] = 0.f;
    for (int64_t i = 0; i < K; ++i) {
      const float wv = float(wr[i]);
      for (int64_t m = 0; m < M; ++m) acc[m] += wv * x[m * K + i];
    }
    for (int64_t m = 0; m < M; ++m) y[m * N + n] = e(acc[m], n);
  }
}

#ifdef CHATTERBOX_X86
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

// 16 weights starting at p, widened to fp32. Tail: only the first `n` lanes (masked load).
AVX512_TARGET inline __m512 load_w(const float* p) { return _mm512_loadu_ps(p); }
AVX512_TARGET inline __m512 load_w_tail(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
AVX512_TARGET inline __m512 load_w(const c10::BFloat16* p) {
  // bf16 is the top half of an fp32: zero-extend to 32 bits and shift up.
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
AVX512_TARGET inline __m512 load_w_tail(const c10::BFloat16* p, __mmask16 m) {
  __m256i h = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Rows [n0, n1) of y[M, N] = x[M, K] w[N, K]^T. R weight rows at a time share each x load;
// every weight element is loaded exactly once.
template <int M, int R, typename W>
AVX512_TARGET void kernel_rows_r(const W* w, const float* x, float* y, int64_t K, int64_t N,
                                 int64_t& n, int64_t n1) {
  const int64_t k16 = K & ~int64_t(15);
  const __mmask16 tail = static_cast<__mmask16>((1u << (K - k16)) - 1u);
  for (; n + R <= n1; n += R) {
    __m512 acc[R][M];
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < M; ++m) acc[r][m] = _mm512_setzero_ps();
    const W* w0 = w + n * K;
    for (int64_t i = 0; i < k16; i += 16) {
      __m512 xv[M];
      for (int m = 0; m < M; ++m) xv[m] = _mm512_loadu_ps(x + m * K + i);
      for (int r = 0; r < R; ++r) {
        __m512 wv = load_w(w0 + r * K + i);
        for (int m = 0; m < M; ++m) acc[r][m] = _mm512_fmadd_ps(wv, xv[m], acc[r][m]);
      }
    }
    if (tail) {
      __m512 xv[M];
      for (int m = 0; m < M; ++m) xv[m] = _mm512_maskz_loadu_ps(tail, x + m * K + k16);
      for (int r = 0; r < R; ++r) {
        __m512 wv = load_w_tail(w0 + r * K + k16, tail);
        for (int m = 0; m < M; ++m) acc[r][m] = _mm512_fmadd_ps(wv, xv[m], acc[r][m]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < M; ++m) y[m * N + n + r] = _mm512_reduce_add_ps(acc[r][m]);
  }
}

template <int M, typename W>
AVX512_TARGET void kernel_rows(const W* w, const float* x, float* y, int64_t K, int64_t N,
                               int64_t n0, int64_t n1) {
  // 8 rows in flight measured ~20 % faster than 4 on one core (t3_linear: 3.3 vs 4.2 ms per
  // layer) and as fast as 12; with M <= 2 the 16 accumulators still fit the 32 registers.
  int64_t n = n0;
  if constexpr (M <= 2) kernel_rows_r<M, 8>(w, x, y, K, N, n, n1);
  kernel_rows_r<M, 4>(w, x, y, K, N, n, n1);
  kernel_rows_r<M, 1>(w, x, y, K, N, n, n1);
}

// bf16 weights, K a multiple of 32: one 512-bit load holds 32 weights = 16 (even, odd) pairs.
// The even weight is the low half of each 32-bit lane (shift it up), the odd one the high half
// (mask the low half off): two cheap integer ops per 32 weights instead of a widening shuffle
// per 16. x is split once per call into its even and odd elements to match: xe, xo [M, K/2].
template <int M, int R>
AVX512_TARGET void kernel_rows_bf16_pairs_r(const c10::BFloat16* w, const float* xe,
                                            const float* xo, float* y, int64_t K, int64_t N,
                                            int64_t& n, int64_t n1) {
  const int64_t K2 = K / 2;
  const __m512i high_half = _mm512_set1_epi32(int(0xFFFF0000u));
  for (; n + R <= n1; n += R) {
    __m512 acc[R][M];
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < M; ++m) acc[r][m] = _mm512_setzero_ps();
    const c10::BFloat16* w0 = w + n * K;
    for (int64_t i = 0; i < K; i += 32) {
      __m512 xev[M], xov[M];
      for (int m = 0; m < M; ++m) {
        xev[m] = _mm512_loadu_ps(xe + m * K2 + i / 2);
        xov[m] = _mm512_loadu_ps(xo + m * K2 + i / 2);
      }
      for (int r = 0; r < R; ++r) {
        __m512i v = _mm512_loadu_si512(reinterpret_cast<const void*>(w0 + r * K + i));
        __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
        __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, high_half));
        for (int m = 0; m < M; ++m) {
          acc[r][m] = _mm512_fmadd_ps(we, xev[m], acc[r][m]);
          acc[r][m] = _mm512_fmadd_ps(wo, xov[m], acc[r][m]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < M; ++m) y[m * N + n + r] = _mm512_reduce_add_ps(acc[r][m]);
  }
}

template <int M>
AVX512_TARGET void kernel_rows_bf16_pairs(const c10::BFloat16* w, const float* xe, const float* xo,
                                          float* y, int64_t K, int64_t N, int64_t n0, int64_t n1) {
  const int64_t K2 = K / 2;
  int64_t n = n0;
  if constexpr (M <= 2) kernel_rows_bf16_pairs_r<M, 8>(w, xe, xo, y, K, N, n, n1);
  kernel_rows_bf16_pairs_r<M, 4>(w, xe, xo, y, K, N, n, n1);
  for (; n < n1; ++n) {
    const c10::BFloat16* wr = w + n * K;
    for (int m = 0; m < M; ++m) {
      float sum = 0.f;
      for (int64_t j = 0; j < K2; ++j)
        sum += float(wr[2 * j]) * xe[m * K2 + j] + float(wr[2 * j + 1]) * xo[m * K2 + j];
      y[m * N + n] = sum;
    }
  }
}

template <typename W>
void run_kernel(const W* w, const float* x, float* y, int64_t M, int64_t K, int64_t N) {
  split_output_rows_for(M, N, [&](auto kM, int64_t n0, int64_t n1) {
    kernel_rows<decltype(kM)::value>(w, x, y, K, N, n0, n1);
  });
}
void run_bf16_pairs(const c10::BFloat16* w, const float* x, float* y, int64_t M, int64_t K,
                    int64_t N) {
  const int64_t K2 = K / 2;
  std::vector<float> split(size_t(2 * M * K2));
  float* xe = split.data();
  float* xo = split.data() + M * K2;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < K2; ++j) {
      xe[m * K2 + j] = x[m * K + 2 * j];
      xo[m * K2 + j] = x[m * K + 2 * j + 1];
    }
  split_output_rows_for(M, N, [&](auto kM, int64_t n0, int64_t n1) {
    kernel_rows_bf16_pairs<decltype(kM)::value>(w, xe, xo, y, K, N, n0, n1);
  });
}

// ---- AVX2 + FMA (CPUs without AVX-512; also int8 everywhere) ----------------------------------
// 8 lanes per register and 16 registers: R weight rows x M activation rows of accumulators, the M
// x loads shared by the R rows. Each weight element is loaded once; the K % 8 tail is scalar.
#define AVX2_TARGET __attribute__((target("avx2,fma")))

// 8 weights starting at p, widened to fp32.
AVX2_TARGET inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
AVX2_TARGET inline __m256 load8(const c10::BFloat16* p) {
  // bf16 is the top half of an fp32: zero-extend to 32 bits and shift up.
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
AVX2_TARGET inline __m256 load8(const int8_t* p) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
}

AVX2_TARGET inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

template <int M, int R, typename W>
AVX2_TARGET void avx2_rows_r(const W* w, const float* x, const Epilogue& e, float* y, int64_t K,
                             int64_t N, int64_t& n, int64_t n1) {
  const int64_t k8 = K & ~int64_t(7);
  for (; n + R <= n1; n += R) {
    __m256 acc[R][M];
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < M; ++m) acc[r][m] = _mm256_setzero_ps();
    const W* w0 = w + n * K;
    // Prefetch the next group of R rows into L2 at the pace this group is consumed: the R rows
    // are R short interleaved streams (1-4 KB each) that the hardware prefetcher picks up late.
    // Measured on a 2-core AVX2 EPYC: CPU time per Turbo decode step -40 % bf16, -33 % int8,
    // -15 % fp32.
    const char* next = reinterpret_cast<const char*>(w0 + R * K);
    const int64_t next_bytes = std::min<int64_t>(R, n1 - n - R) * K * int64_t(sizeof(W));
    for (int64_t i = 0; i < k8; i += 8) {
      for (int64_t off = i * R * int64_t(sizeof(W));
           off < (i + 8) * R * int64_t(sizeof(W)) && off < next_bytes; off += 64)
        _mm_prefetch(next + off, _MM_HINT_T1);
      __m256 xv[M];
      for (int m = 0; m < M; ++m) xv[m] = _mm256_loadu_ps(x + m * K + i);
      for (int r = 0; r < R; ++r) {
        const __m256 wv = load8(w0 + r * K + i);
        for (int m = 0; m < M; ++m) acc[r][m] = _mm256_fmadd_ps(wv, xv[m], acc[r][m]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < M; ++m) {
        float sum = hsum8(acc[r][m]);
        for (int64_t i = k8; i < K; ++i) sum += float(w0[r * K + i]) * x[m * K + i];
        y[m * N + n + r] = e(sum, n + r);
      }
  }
}

template <int M, typename W>
AVX2_TARGET void avx2_rows(const W* w, const float* x, const Epilogue& e, float* y, int64_t K,
                           int64_t N, int64_t n0, int64_t n1) {
  // Accumulators R x M plus M x registers and one weight register must fit the 16 ymm registers.
  int64_t n = n0;
  if constexpr (M <= 2)
    avx2_rows_r<M, 4>(w, x, e, y, K, N, n, n1);
  else
    avx2_rows_r<M, 2>(w, x, e, y, K, N, n, n1);
  avx2_rows_r<M, 1>(w, x, e, y, K, N, n, n1);
}

template <typename W>
void run_avx2(const W* w, const float* x, const Epilogue& e, float* y, int64_t M, int64_t K,
              int64_t N) {
  split_output_rows_for(M, N, [&](auto kM, int64_t n0, int64_t n1) {
    avx2_rows<decltype(kM)::value>(w, x, e, y, K, N, n0, n1);
  });
}
#endif  // CHATTERBOX_X86

template <typename W>
void run_scalar(const W* w, const float* x, const Epilogue& e, float* y, int64_t M, int64_t K,
                int64_t N) {
  split_output_rows(N, [&](int64_t n0, int64_t n1) { scalar_rows(w, x, e, y, M, K, N, n0, n1); });
}

enum class Isa { kNone, kAvx2, kAvx512 };
Isa detect_isa() {
#ifdef CHATTERBOX_X86
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kNone;
}
Isa isa() {
  static const Isa value = detect_isa();
  return value;
}

}  // namespace

bool small_linear_kernel_available() { return isa() != Isa::kNone; }

const char* small_linear_kernel_isa() {
  switch (isa()) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    default:
      return "none";
  }
}

int64_t LinearWeight::bytes() const {
  int64_t b = weight.numel() * int64_t(weight.element_size());
  if (scale.defined()) b += scale.numel() * int64_t(scale.element_size());
  return b;
}

at::Tensor LinearWeight::dequantized() const {
  if (weight.scalar_type() == at::kChar) return weight.to(at::kFloat) * scale.unsqueeze(1);
  return weight.to(at::kFloat);
}

LinearWeight make_linear_weight(const at::Tensor& w, at::ScalarType dtype, SmallLinearPath path) {
  if (w.dim() != 2)
    throw Error(ErrorKind::kInvalidInput, "make_linear_weight: expected a [N, K] matrix, got " +
                                              std::to_string(w.dim()) + " dimensions");
  LinearWeight out;
  out.path = path;
  if (dtype == at::kFloat || dtype == at::kBFloat16) {
    // Private contiguous memory (never a view of a file mapping), as the loaders' owned().
    out.weight = at::empty(w.sizes(), w.options().dtype(dtype));
    out.weight.copy_(w);
    return out;
  }
  if (dtype != at::kChar)
    throw Error(ErrorKind::kInvalidInput,
                std::string("make_linear_weight: unsupported storage dtype ") +
                    c10::toString(dtype) + " (float32, bfloat16 or int8)");
  const at::Tensor wf = w.to(at::kFloat);
  at::Tensor scale = wf.abs().amax(1) / 127.0;  // [N]
  // An all-zero row keeps scale 0 and q 0 (no division by zero).
  const at::Tensor divisor = at::where(scale > 0, scale, at::ones_like(scale)).unsqueeze(1);
  out.weight = (wf / divisor).round().clamp(-127, 127).to(at::kChar).contiguous();
  out.scale = scale.contiguous();
  return out;
}

at::Tensor small_linear(const at::Tensor& x, const at::Tensor& w, SmallLinearPath path) {
  return small_linear(x, LinearWeight{w, {}, path});
}

at::Tensor small_linear(const at::Tensor& x, const LinearWeight& lw, const at::Tensor& bias) {
  const at::Tensor& w = lw.weight;
  const int64_t K = w.size(1), N = w.size(0);
  const int64_t M = x.numel() / K;
  const at::ScalarType wt = w.scalar_type();
  const bool int8 = wt == at::kChar;
  if (int8 &&
      !(lw.scale.defined() && lw.scale.numel() == N && lw.scale.scalar_type() == at::kFloat))
    throw Error(ErrorKind::kInvalidInput,
                "small_linear: int8 weights need a float32 scale per output row");
  const SmallLinearPath path = lw.path;
  auto as_float = [&] {
    return int8 ? lw.dequantized() : (wt == x.scalar_type() ? w : w.to(x.scalar_type()));
  };
  std::vector<int64_t> out_shape = x.sizes().vec();
  out_shape.back() = N;
  if (path == SmallLinearPath::kRowGemv && M <= kSmallLinearMaxRows && x.dim() >= 1) {
    // One at::mv per row: every row streams the whole weight again.
    at::Tensor x2 = x.reshape({M, K});
    at::Tensor wf = as_float();
    std::vector<at::Tensor> rows;
    for (int64_t m = 0; m < M; ++m) rows.push_back(at::mv(wf, x2[m]));
    at::Tensor y = at::stack(rows, 0).view(out_shape);
    return bias.defined() ? y + bias : y;
  }
  const bool direct =
      x.device().is_cpu() && w.device().is_cpu() && x.scalar_type() == at::kFloat && M >= 1 &&
      M <= kSmallLinearMaxRows && w.is_contiguous() &&
      (wt == at::kFloat || wt == at::kBFloat16 || int8) &&
      (!bias.defined() || (bias.scalar_type() == at::kFloat && bias.is_contiguous() &&
                           bias.numel() == N && bias.device().is_cpu()));
  // Which loop reads the weights directly: the vector kernel, or the scalar one (selected, or the
  // int8 fallback without AVX2: it still streams a quarter of the bytes, where at::linear would
  // widen the whole matrix on every call).
  const bool kernel = direct && path == SmallLinearPath::kKernel && isa() != Isa::kNone;
  const bool scalar =
      direct && !kernel &&
      (path == SmallLinearPath::kScalar || (int8 && path == SmallLinearPath::kKernel));
  if (!kernel && !scalar) {
    // GEMM path (prefill, other devices). bf16 and int8 weights are widened per call: only
    // prefill takes this path on CPU, where the GEMM itself dominates.
    return at::linear(x, as_float(), bias);
  }
  const at::Tensor xc = x.contiguous();
  at::Tensor y = at::empty(out_shape, x.options());
  const float* xp = xc.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  Epilogue e;
  if (int8) e.scale = lw.scale.data_ptr<float>();
  if (bias.defined()) e.bias = bias.data_ptr<float>();
  if (scalar) {
    if (wt == at::kFloat)
      run_scalar(w.data_ptr<float>(), xp, e, yp, M, K, N);
    else if (wt == at::kBFloat16)
      run_scalar(w.data_ptr<c10::BFloat16>(), xp, e, yp, M, K, N);
    else
      run_scalar(w.data_ptr<int8_t>(), xp, e, yp, M, K, N);
    return y;
  }
#ifdef CHATTERBOX_X86
  if (isa() == Isa::kAvx512 && !int8) {
    if (wt == at::kFloat)
      run_kernel(w.data_ptr<float>(), xp, yp, M, K, N);
    else if (K % 32 == 0)
      run_bf16_pairs(w.data_ptr<c10::BFloat16>(), xp, yp, M, K, N);
    else
      run_kernel(w.data_ptr<c10::BFloat16>(), xp, yp, M, K, N);
    if (bias.defined()) y.add_(bias);
    return y;
  }
  if (wt == at::kFloat)
    run_avx2(w.data_ptr<float>(), xp, e, yp, M, K, N);
  else if (wt == at::kBFloat16)
    run_avx2(w.data_ptr<c10::BFloat16>(), xp, e, yp, M, K, N);
  else
    run_avx2(w.data_ptr<int8_t>(), xp, e, yp, M, K, N);
#endif
  return y;
}

}  // namespace chatterbox
