// Random-weight Chatterbox model directories for tests (see test_model.h). The initialisation
// follows the oracle's recipe (oracle README, "Weights") so that a tiny model's audio is finite
// and not trivially silent: the module classes' own initialisers, then norm weights
// ~ 1 + 0.1 N, biases ~ 0.05 N, BatchNorm running mean ~ 0.1 N / var ~ U(0.7, 1.3),
// weight-norm g = ||v|| (1 + 0.1 N), Snake alpha ~ U(0.9, 1.1); T3 projections N(0, 1/fan_in),
// token embeddings 0.5 N, position embeddings 0.2 N, heads 3 N / sqrt(D); HiFT F0 head
// N(0, 150^2) (scaled to keep the same output spread at full width), bias 60.
// Turbo/Nano add: GPT-2 Conv1D weights ([in, out]) N(0, 1/in), GPT-2 position table 0.2 N,
// speech_head.bias[6562] += 12 at tiny size (so that random-weight generation ends on EOS within a
// few dozen tokens, as in the Turbo oracle; full-size benchmark models keep no boost),
// time_embed_mixer = [I | 0] + N / sqrt(2 D) (the class's own [I | 0] would make r irrelevant).
#include "test_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "io/conds.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "test_model_data.h"
#include "voice/conditioning.h"
#include "voice/mel.h"

namespace chatterbox::testmodel {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

constexpr const char* kTurboT3File = "t3_turbo_v1.safetensors";
constexpr const char* kNanoT3File = "t3_nano_v1.safetensors";
constexpr const char* kMeanflowFile = "s3gen_meanflow.safetensors";
constexpr int64_t kStopSpeechToken = 6562;
constexpr int64_t kMultilingualTextVocab = 2454;  // T3Model::kMultilingualTextVocab
constexpr double kStopSpeechBias = 12.0;

bool is_gpt2_t3(const std::string& file) { return file == kTurboT3File || file == kNanoT3File; }

// FNV-1a: a per-tensor seed that does not depend on generation order or thread count.
uint64_t name_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::vector<TensorSpec> parse_layout(const char* text) {
  std::vector<TensorSpec> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    TensorSpec s;
    std::string shape;
    std::getline(fields, s.file, '\t');
    std::getline(fields, s.name, '\t');
    std::getline(fields, s.dtype, '\t');
    std::getline(fields, shape, '\t');
    std::istringstream dims(shape);
    std::string d;
    while (std::getline(dims, d, ','))
      if (!d.empty()) s.shape.push_back(std::stoll(d));
    out.push_back(std::move(s));
  }
  return out;
}

// PyTorch's fan_in: dim 1 times the kernel dims (for ConvTranspose weights [in, out, k] that is
// out * k, as torch.nn.init computes it).
double fan_in(const std::vector<int64_t>& shape) {
  double f = shape.size() > 1 ? static_cast<double>(shape[1]) : 1.0;
  for (size_t i = 2; i < shape.size(); ++i) f *= static_cast<double>(shape[i]);
  return std::max(f, 1.0);
}

at::Tensor init_tensor(const TensorSpec& s, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(name_seed(seed, s.file + "/" + s.name));
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const std::vector<int64_t>& shape = s.shape;
  auto normal = [&](double mean, double std) {
    return at::randn(shape, gen, f32).mul_(std).add_(mean);
  };
  auto uniform = [&](double lo, double hi) {
    return at::rand(shape, gen, f32).mul_(hi - lo).add_(lo);
  };
  const std::string& n = s.name;

  if (s.dtype == "I64") return at::zeros(shape, at::kLong);  // num_batches_tracked: unused
  if (s.dtype != "F32")
    throw Error(ErrorKind::kInternal, "test model: unexpected dtype " + s.dtype + " for " + n);
  if (ends_with(n, "running_mean")) return normal(0.0, 0.1);
  if (ends_with(n, "running_var")) return uniform(0.7, 1.3);
  if (ends_with(n, ".alpha")) return uniform(0.9, 1.1);  // Snake, linear scale
  if (n == "mel2wav.f0_predictor.classifier.weight")
    return normal(0.0, 150.0 * std::sqrt(64.0 / fan_in(shape)));
  if (n == "mel2wav.f0_predictor.classifier.bias") return at::full(shape, 60.0f, f32);
  if (n == "similarity_weight") return at::full(shape, 10.0f, f32);  // VoiceEncoder's own init
  if (n == "similarity_bias") return at::full(shape, -5.0f, f32);
  if (n == "tokenizer.window") return at::hann_window(shape[0], /*periodic=*/true, f32);
  if (n == "tokenizer._mel_filters") {
    // The engine recomputes it; the English files keep their stand-in, the mean-flow file holds
    // the real filterbank of the S3 tokenizer (16 kHz, n_fft 400, 0-8 kHz) like the released one.
    if (s.file == kMeanflowFile)
      return slaney_mel_filterbank(16000, 2 * (shape[1] - 1), shape[0], 0.0, 8000.0)
          .to(at::kFloat)
          .contiguous();
    return uniform(0.0, 0.01);
  }
  if (is_gpt2_t3(s.file) && n == "speech_head.bias") {
    at::Tensor b = normal(0.0, 0.05);
    if (shape[0] > kStopSpeechToken) b[kStopSpeechToken].add_(kStopSpeechBias);
    return b;
  }
  if (ends_with(n, ".bias")) {
    if (starts_with(n, "lstm.")) return uniform(-1.0, 1.0).mul_(1.0 / std::sqrt(shape[0] / 4.0));
    return normal(0.0, 0.05);
  }
  if (shape.size() == 1 && ends_with(n, ".weight"))
    return normal(1.0, 0.1);  // LayerNorm/RMSNorm/BN

  if (s.file == "t3_cfg.safetensors" || s.file == "t3_mtl23ls_v2.safetensors") {  // Llama T3s
    if (n == "text_emb.weight" || n == "speech_emb.weight" || n == "tfmr.embed_tokens.weight")
      return normal(0.0, 0.5);
    if (ends_with(n, "pos_emb.emb.weight")) return normal(0.0, 0.2);
    if (n == "text_head.weight" || n == "speech_head.weight")
      return normal(0.0, 3.0 / std::sqrt(static_cast<double>(shape[1])));
    if (n == "cond_enc.perceiver.pre_attention_query") {
      const double v = std::sqrt(3.0) * std::sqrt(2.0 / (2.0 * static_cast<double>(shape[1])));
      return uniform(-v, v);  // Perceiver's own init
    }
    return normal(0.0, 1.0 / std::sqrt(fan_in(shape)));
  }
  if (is_gpt2_t3(s.file)) {
    if (n == "text_emb.weight" || n == "speech_emb.weight" || n == "tfmr.wte.weight")
      return normal(0.0, 0.5);
    if (n == "tfmr.wpe.weight") return normal(0.0, 0.2);
    if (n == "text_head.weight" || n == "speech_head.weight")
      return normal(0.0, 3.0 / std::sqrt(static_cast<double>(shape[1])));
    if (starts_with(n, "tfmr.h."))
      return normal(0.0, 1.0 / std::sqrt(static_cast<double>(shape[0])));  // Conv1D [in, out]
    return normal(0.0, 1.0 / std::sqrt(fan_in(shape)));  // cond_enc.spkr_enc: Linear [out, in]
  }
  if (n == "flow.decoder.estimator.time_embed_mixer.weight") {  // [D, 2 D]
    at::Tensor w = normal(0.0, 1.0 / std::sqrt(static_cast<double>(shape[1])));
    w.narrow(1, 0, shape[0]).add_(at::eye(shape[0], f32));
    return w;
  }
  if (starts_with(n, "lstm.")) {  // nn.LSTM: U(+-1/sqrt(hidden))
    const double b = 1.0 / std::sqrt(shape[0] / 4.0);
    return uniform(-b, b);
  }
  if (n == "flow.input_embedding.weight") return normal(0.0, 1.0);  // nn.Embedding
  if (starts_with(n, "speaker_encoder.") || starts_with(n, "flow.decoder.estimator."))
    return normal(
        0.0, std::sqrt(2.0 / fan_in(shape)));  // kaiming_normal_ in CAMPPlus / ConditionalDecoder
  if (ends_with(n, "pos_bias_u") || ends_with(n, "pos_bias_v")) {  // xavier_uniform_
    const double b = std::sqrt(6.0 / static_cast<double>(shape[0] + shape[1]));
    return uniform(-b, b);
  }
  const double b =
      1.0 / std::sqrt(fan_in(shape));  // nn.Linear / nn.Conv default (kaiming a=sqrt(5))
  return uniform(-b, b);
}

std::vector<std::pair<std::string, at::Tensor>> make_file(const std::vector<TensorSpec>& layout,
                                                          const std::string& file, uint64_t seed) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, size_t> index;
  for (const auto& s : layout) {
    if (s.file != file) continue;
    index[s.name] = tensors.size();
    tensors.emplace_back(s.name, init_tensor(s, seed));
  }
  // Weight norm: g starts at ||v|| (per index of dim 0) as weight_norm() sets it, then is
  // perturbed so that g carries information of its own.
  const std::string g_suffix = ".parametrizations.weight.original0";
  for (auto& [name, g] : tensors) {
    if (!ends_with(name, g_suffix)) continue;
    const std::string v_name = name.substr(0, name.size() - 1) + "1";
    auto it = index.find(v_name);
    if (it == index.end()) throw Error(ErrorKind::kInternal, "test model: no " + v_name);
    const at::Tensor& v = tensors[it->second].second;
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < v.dim(); ++d) dims.push_back(d);
    at::Tensor norm = v.pow(2).sum(dims, /*keepdim=*/true).sqrt();
    at::Generator gen = at::detail::createCPUGenerator(name_seed(seed, file + "/" + name + "#g"));
    g = (norm * (1.0 + 0.1 * at::randn(g.sizes(), gen, at::kFloat)))
            .reshape(g.sizes())
            .contiguous();
  }
  return tensors;
}

// A little English to learn merges from (written for this file).
constexpr const char* kCorpus =
    "The quick brown fox jumps over the lazy dog. This is a small test of the text tokenizer, "
    "and it should be able to say anything that you would like it to say. When the weather is "
    "nice, we like to walk along the river and talk about the things that matter to us: music, "
    "books, friends, and the places where we have been. She said that there were three hundred "
    "and forty two people in the hall, which was more than anyone had expected. Please read the "
    "instructions carefully before you start the machine; otherwise something might go wrong. "
    "Speech synthesis turns written words into sound. A good voice sounds natural, clear and "
    "expressive, with the right rhythm and intonation for every sentence it reads. How are you "
    "today? I am fine, thank you! Would you like some tea or coffee with your breakfast? Numbers "
    "such as 1, 2, 3, 10, 42, 100 and 2024 appear in many texts, as do dates and times like "
    "12:30. Children often ask why the sky is blue and why the sea is salty. Nobody really knows "
    "everything, but we can always learn something new every single day. Their house stands "
    "between the old church and the new station, just behind the market square. Information, "
    "communication, education and imagination are important words in this sentence. We were "
    "walking, talking, thinking and laughing together until the evening came.";

// More English for the GPT-2 tokenizer (written for this file): with kCorpus, enough distinct
// pairs for its 743 merges.
constexpr const char* kMoreCorpus =
    "I don't think it's too late: we're going to the station, and they'll wait for us if we've "
    "called ahead. Yesterday my neighbour's daughter played the piano for almost an hour, and "
    "everybody listened quietly. Turn left at the second light, then keep going straight until you "
    "see a small bakery on the corner. The meeting starts at 9 o'clock on Monday; please bring "
    "your "
    "notes, a pen and something to drink. Oh, really? That's wonderful news! I'm so happy for you, "
    "and I can't wait to hear the whole story. Rain fell softly on the roof while the cat slept "
    "near "
    "the warm fire and the kettle began to sing. Scientists measured the temperature of the lake "
    "every morning for twelve years and found it slowly rising. Could you possibly lend me your "
    "umbrella? Mine broke during the storm last Thursday, unfortunately. Our grandparents grew "
    "potatoes, carrots, beans and tomatoes in a garden behind the cottage. Somewhere far away, a "
    "lighthouse keeper writes letters he never sends, describing ships and seabirds. Engineers "
    "built "
    "the bridge in eighteen months, using steel, concrete and thousands of careful calculations. "
    "If "
    "you're feeling tired, drink some water, open the window and take a short break from the "
    "screen. Please remember: the library closes early on Fridays, so return your borrowed novels "
    "before noon.";

// Whitespace pre-tokenization for ASCII text: alphanumeric runs and punctuation runs.
std::vector<std::string> corpus_words() {
  std::vector<std::string> words;
  std::string cur;
  int kind = 0;  // 1 word, 2 punctuation
  for (const char* p = kCorpus;; ++p) {
    const char c = *p;
    const int k = c == 0 || c == ' '                                          ? 0
                  : (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? 1
                                                                              : 2;
    if (k != kind && !cur.empty()) {
      words.push_back(cur);
      cur.clear();
    }
    if (k) cur.push_back(c);
    kind = k;
    if (c == 0) break;
  }
  return words;
}

std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    throw Error(ErrorKind::kInternal, "test model: code point out of range");
  }
  return s;
}

// GPT-2's bytes_to_unicode(): the printable Latin-1 bytes map to themselves, the others to
// U+0100 upwards in byte order. Returned in GPT-2's id order: (byte, symbol).
std::vector<std::pair<unsigned char, std::string>> gpt2_byte_symbols() {
  std::vector<std::pair<unsigned char, std::string>> out;
  auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  for (int b = 0; b < 256; ++b)
    if (printable(b))
      out.emplace_back(static_cast<unsigned char>(b), utf8(static_cast<char32_t>(b)));
  int next = 0;
  for (int b = 0; b < 256; ++b)
    if (!printable(b))
      out.emplace_back(static_cast<unsigned char>(b), utf8(static_cast<char32_t>(256 + next++)));
  return out;
}

// GPT-2's pre-tokenizer pattern on ASCII text:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::string> gpt2_pretokenize(const std::string& text) {
  auto cls = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) ? 0 : std::isalpha(u) ? 1 : std::isdigit(u) ? 2 : 3;
  };
  std::vector<std::string> out;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (text[i] == '\'') {
      bool contraction = false;
      for (const char* suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
        const size_t len = std::strlen(suffix);
        if (text.compare(i + 1, len, suffix) == 0) {
          out.push_back(text.substr(i, len + 1));
          i += len + 1;
          contraction = true;
          break;
        }
      }
      if (contraction) continue;
    }
    size_t j = i;
    if (text[j] == ' ' && j + 1 < n && cls(text[j + 1]) != 0) ++j;  // the optional leading space
    if (cls(text[j]) != 0) {
      const int k = cls(text[j]);
      size_t e = j;
      while (e < n && cls(text[e]) == k) ++e;
      out.push_back(text.substr(i, e - i));
      i = e;
      continue;
    }
    size_t e = i;
    while (e < n && cls(text[e]) == 0) ++e;
    if (e < n && e - i > 1) --e;  // \s+(?!\S): the last space goes with the next word
    out.push_back(text.substr(i, e - i));
    i = e;
  }
  return out;
}

struct Gpt2Bpe {
  std::vector<std::string> vocab;  // id order
  std::vector<std::pair<std::string, std::string>> merges;
};

constexpr int kGpt2BpeSize = 999;  // byte symbols + merges; <|endoftext|> follows
const char* const kParalinguisticTags[] = {"[clear throat]", "[sigh]",    "[shush]",
                                           "[cough]",        "[groan]",   "[sniff]",
                                           "[gasp]",         "[chuckle]", "[laugh]"};
constexpr const char* kEndOfText = "<|endoftext|>";

// Byte-level BPE training: the most frequent adjacent pair first, ties broken by the pair's text,
// until the vocabulary has kGpt2BpeSize entries.
Gpt2Bpe learn_gpt2_bpe() {
  const auto bytes = gpt2_byte_symbols();
  std::string symbol_of[256];
  Gpt2Bpe bpe;
  for (const auto& [b, sym] : bytes) {
    symbol_of[b] = sym;
    bpe.vocab.push_back(sym);
  }
  std::set<std::string> known(bpe.vocab.begin(), bpe.vocab.end());
  std::set<std::pair<std::string, std::string>> merged_pairs;
  std::map<std::vector<std::string>, int> words;
  for (const auto& w : gpt2_pretokenize(std::string(kCorpus) + " " + kMoreCorpus)) {
    std::vector<std::string> symbols;
    for (unsigned char c : w) symbols.push_back(symbol_of[c]);
    ++words[symbols];
  }
  while (static_cast<int>(bpe.vocab.size()) < kGpt2BpeSize) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& [w, n] : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) counts[{w[i], w[i + 1]}] += n;
    if (counts.empty())
      throw Error(ErrorKind::kInternal, "test model: the tokenizer corpus has too few pairs");
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    const auto pair = best->first;
    // A pair can come back when another merge rebuilds one of its parts; it is listed once.
    if (merged_pairs.insert(pair).second) bpe.merges.push_back(pair);
    const std::string merged = pair.first + pair.second;
    if (known.insert(merged).second) bpe.vocab.push_back(merged);
    std::map<std::vector<std::string>, int> next;
    for (const auto& [w, n] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == pair.first && w[i + 1] == pair.second) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(w[i]);
        }
      }
      next[out] += n;
    }
    words = std::move(next);
  }
  return bpe;
}

const char* t3_file_name(ModelVariant variant) {
  switch (variant) {
    case ModelVariant::kEnglish:
      return "t3_cfg.safetensors";
    case ModelVariant::kTurbo:
      return kTurboT3File;
    case ModelVariant::kNano:
      return kNanoT3File;
    case ModelVariant::kMultilingual:
      return "t3_mtl23ls_v2.safetensors";
    default:
      break;
  }
  throw Error(ErrorKind::kInvalidInput, std::string("test model: no generator for the ") +
                                            model_variant_name(variant) +
                                            " model (english, turbo, nano)");
}

}  // namespace

std::vector<TensorSpec> planned_layout(Size size, ModelVariant variant) {
  t3_file_name(variant);  // rejects the variants without a generator
  if (variant == ModelVariant::kEnglish)
    return parse_layout(size == Size::kFull ? kLayoutFull : kLayoutTiny);
  if (variant == ModelVariant::kMultilingual) {
    // S3Gen and ve are the English files. The full-size T3 is the English layout with the
    // 2454-id text vocabulary; the tiny one has the 14 layers of 16 heads the alignment control
    // reads (the English tiny T3 has 2 of 4).
    std::vector<TensorSpec> out;
    for (TensorSpec t : parse_layout(size == Size::kFull ? kLayoutFull : kLayoutTiny)) {
      if (t.file != "t3_cfg.safetensors") {
        out.push_back(t);
      } else if (size == Size::kFull) {
        t.file = t3_file_name(variant);
        if (t.name == "text_emb.weight" || t.name == "text_head.weight")
          t.shape[0] = kMultilingualTextVocab;
        out.push_back(t);
      }
    }
    if (size == Size::kTiny)
      for (const TensorSpec& t : parse_layout(kLayoutMtlTiny)) out.push_back(t);
    return out;
  }
  std::vector<TensorSpec> turbo =
      parse_layout(size == Size::kFull ? kLayoutTurboFull : kLayoutTurboTiny);
  if (variant == ModelVariant::kTurbo) return turbo;
  // Nano: Turbo's S3Gen and VE; its T3 is GPT-2 small at full size and tiny Turbo's when tiny.
  std::vector<TensorSpec> out;
  if (size == Size::kFull) out = parse_layout(kLayoutNanoFull);
  for (auto& s : turbo) {
    if (s.file == kTurboT3File) {
      if (size == Size::kFull) continue;
      s.file = kNanoT3File;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string tokenizer_json() {
  constexpr int kVocab = 704;
  const std::vector<std::pair<std::string, int>> specials = {
      {"[STOP]", 0},  {"[UNK]", 1},   {"[SPACE]", 2}, {"[START]", 255},
      {"[PAD]", 700}, {"[SEP]", 701}, {"[CLS]", 702}, {"[MASK]", 703}};
  std::set<int> reserved;
  for (const auto& s : specials) reserved.insert(s.second);

  std::vector<std::string> tokens;  // regular tokens in id order
  for (char c = 'a'; c <= 'z'; ++c) tokens.emplace_back(1, c);
  for (char c = 'A'; c <= 'Z'; ++c) tokens.emplace_back(1, c);
  for (char c = '0'; c <= '9'; ++c) tokens.emplace_back(1, c);
  for (const char* p = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"; *p; ++p) tokens.emplace_back(1, *p);
  for (const char* a : {"é", "è", "ê", "ë", "à", "â", "ä", "á", "ç", "î", "ï", "í", "ô", "ö", "ó",
                        "û", "ü", "ú", "ñ", "É", "À", "Ç", "Ü", "Ö", "Ä", "ß", "œ", "æ", "ø", "å"})
    tokens.emplace_back(a);
  std::set<std::string> known(tokens.begin(), tokens.end());

  // Learn merges: most frequent adjacent pair first, ties broken by the pair's text.
  const int regular = kVocab - static_cast<int>(specials.size());
  std::map<std::vector<std::string>, int> words;
  for (const auto& w : corpus_words()) {
    std::vector<std::string> chars;
    for (char c : w) chars.emplace_back(1, c);
    ++words[chars];
  }
  std::vector<std::pair<std::string, std::string>> merges;
  while (static_cast<int>(tokens.size()) < regular) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& [w, n] : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) counts[{w[i], w[i + 1]}] += n;
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    const auto pair = best->first;
    merges.push_back(pair);
    const std::string merged = pair.first + pair.second;
    if (known.insert(merged).second) tokens.push_back(merged);
    std::map<std::vector<std::string>, int> next;
    for (const auto& [w, n] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == pair.first && w[i + 1] == pair.second) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(w[i]);
        }
      }
      next[out] += n;
    }
    words = std::move(next);
  }
  // If the corpus runs out of pairs, fill the rest with more single letters.
  for (char32_t cp = 0x100; static_cast<int>(tokens.size()) < regular; ++cp) {
    std::string s;
    if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    if (known.insert(s).second) tokens.push_back(s);
  }

  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  std::map<int, std::string> by_id;
  for (const auto& s : specials) by_id[s.second] = s.first;
  int id = 0;
  for (const auto& t : tokens) {
    while (reserved.count(id)) ++id;
    by_id[id++] = t;
  }
  for (const auto& [i, t] : by_id) vocab[t] = i;

  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (const auto& [content, i] : specials)
    added.push_back({{"id", i},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  nlohmann::ordered_json merge_list = nlohmann::ordered_json::array();
  for (const auto& [a, b] : merges) merge_list.push_back(a + " " + b);

  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  j["post_processor"] = nullptr;
  j["decoder"] = nullptr;
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", "[UNK]"},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"vocab", vocab},
                {"merges", merge_list}};
  return j.dump(1);
}

std::vector<std::pair<std::string, std::string>> gpt2_tokenizer_files() {
  const Gpt2Bpe bpe = learn_gpt2_bpe();
  const int eot_id = static_cast<int>(bpe.vocab.size());

  // vocab.json and merges.txt as GPT2Tokenizer.save_pretrained writes them.
  std::string vocab = "{";
  for (size_t i = 0; i < bpe.vocab.size(); ++i)
    vocab += nlohmann::json(bpe.vocab[i]).dump() + ": " + std::to_string(i) + ", ";
  vocab += nlohmann::json(kEndOfText).dump() + ": " + std::to_string(eot_id) + "}";
  std::string merges = "#version: 0.2\n";
  for (const auto& [a, b] : bpe.merges) merges += a + " " + b + "\n";

  nlohmann::ordered_json added = nlohmann::ordered_json::object();
  nlohmann::ordered_json decoder = nlohmann::ordered_json::object();
  auto entry = [](const std::string& content, bool special) {
    return nlohmann::ordered_json{{"content", content},     {"lstrip", false},
                                  {"normalized", !special}, {"rstrip", false},
                                  {"single_word", false},   {"special", special}};
  };
  decoder[std::to_string(eot_id)] = entry(kEndOfText, true);
  int id = eot_id + 1;
  for (const char* tag : kParalinguisticTags) {
    added[tag] = id;
    decoder[std::to_string(id++)] = entry(tag, false);
  }
  const nlohmann::ordered_json special_map = {
      {"bos_token", kEndOfText}, {"eos_token", kEndOfText}, {"unk_token", kEndOfText}};
  const nlohmann::ordered_json config = {{"add_bos_token", false},
                                         {"add_prefix_space", false},
                                         {"added_tokens_decoder", decoder},
                                         {"bos_token", kEndOfText},
                                         {"clean_up_tokenization_spaces", false},
                                         {"eos_token", kEndOfText},
                                         {"errors", "replace"},
                                         {"model_max_length", 1024},
                                         {"pad_token", nullptr},
                                         {"tokenizer_class", "GPT2Tokenizer"},
                                         {"unk_token", kEndOfText}};
  return {{"vocab.json", vocab},
          {"merges.txt", merges},
          {"added_tokens.json", added.dump(2) + "\n"},
          {"special_tokens_map.json", special_map.dump(2) + "\n"},
          {"tokenizer_config.json", config.dump(2) + "\n"}};
}

void write_test_model(const std::string& dir, Size size, uint64_t seed, ModelVariant variant) {
  namespace fs = std::filesystem;
  const std::string t3_file = t3_file_name(variant);
  const bool english = variant == ModelVariant::kEnglish;
  const bool multilingual = variant == ModelVariant::kMultilingual;
  const bool turbo = uses_turbo_pipeline(variant);
  const std::string s3gen_file = turbo ? kMeanflowFile : "s3gen.safetensors";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::kIo, dir + ": cannot create directory: " + ec.message());
  const auto layout = planned_layout(size, variant);
  // One file at a time keeps the peak memory at the largest file (T3, 2.1 GB at full size).
  for (const std::string& file : {std::string("ve.safetensors"), t3_file, s3gen_file}) {
    auto tensors = make_file(layout, file, seed);
    if (size == Size::kFull && file == t3_file) {
      // Full-size models are for benchmarks, which bound utterances with max-tokens as the
      // English model's do: no stop-token boost, so generation runs as long as asked.
      for (auto& [name, t] : tensors)
        if (name == "speech_head.bias" && t.size(0) > kStopSpeechToken)
          t[kStopSpeechToken].sub_(kStopSpeechBias);
    }
    write_safetensors((fs::path(dir) / file).string(), tensors,
                      {{"format", "pt"}, {"generator", "chatterbox-make-test-model"}});
  }

  auto write_text = [&](const std::string& name, const std::string& text) {
    std::ofstream out(fs::path(dir) / name, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
      throw Error(ErrorKind::kIo, (fs::path(dir) / name).string() + ": write failed");
  };
  if (english) {
    write_text("tokenizer.json", tokenizer_json());
  } else if (multilingual) {
    // A tiny tokenizer of the real kind (graphemes of 23 languages, [xx] language tokens, the
    // [cj_*] Cangjie letters) and a 17-glyph Cangjie table, for every size.
    write_text("grapheme_mtl_merged_expanded_v1.json", kTinyMtlTokenizer);
    write_text(kCangjieTable, kTinyMtlCangjie);
  } else {
    for (const auto& [name, text] : gpt2_tokenizer_files()) write_text(name, text);
  }
  if (size == Size::kTiny) {
    // The hyper-parameter files are named after their weight files.
    const std::pair<std::string, const char*> configs[] = {
        {t3_file.substr(0, t3_file.find('.')) + ".json", english        ? kTinyT3Config
                                                         : multilingual ? kTinyMtlT3Config
                                                         : variant == ModelVariant::kTurbo
                                                             ? kTinyTurboT3Config
                                                             : kTinyNanoT3Config},
        {s3gen_file.substr(0, s3gen_file.find('.')) + ".json",
         turbo ? kTinyMeanflowConfig : kTinyS3GenConfig},
        {"ve.json", kTinyVeConfig}};
    for (const auto& [name, text] : configs) {
      auto j = nlohmann::ordered_json::parse(text);
      j["seed"] = seed;
      write_text(name, j.dump(1));
    }
  }

  // conds.pt: random but valid (L2-normalised non-negative speaker embedding as the VE's final
  // ReLU gives, tokens inside the codebook, log-mel-like prompt features, 2 frames per token).
  // The T3 prompt has the longest length each variant's conditioning gives (English 6 s = 150
  // tokens, Turbo/Nano 15 s = 375 tokens); the S3Gen prompt is the same for all.
  at::Generator gen = at::detail::createCPUGenerator(name_seed(seed, "conds.pt"));
  const int64_t tg = size == Size::kFull ? 157 : 40;
  const int64_t t3_prompt_len = turbo ? 375 : 150;
  VoiceConditioning c;
  c.speaker_emb = at::randn({1, 256}, gen, at::kFloat).abs();
  c.speaker_emb = c.speaker_emb / c.speaker_emb.norm();
  c.cond_prompt_speech_tokens = at::randint(0, 6561, {1, t3_prompt_len}, gen, at::kLong);
  c.exaggeration = 0.5f;
  c.prompt_token = at::randint(0, 6561, {1, tg}, gen, at::kLong);
  c.prompt_feat =
      (at::randn({1, 2 * tg, 80}, gen, at::kFloat) * 2.0 - 6.0).clamp(std::log(1e-5), 2.0);
  c.embedding = at::randn({1, 192}, gen, at::kFloat);
  save_conds(c, (fs::path(dir) / "conds.pt").string());
}

}  // namespace chatterbox::testmodel
