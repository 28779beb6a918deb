// Typed errors of the engine. The engine never prints, exits or aborts: every failure is a
// chatterbox::Error that the host (the GStreamer element, a tool, a test) turns into its own
// error reporting. No GStreamer or torch header here, so every layer can include it cheaply.
#pragma once

#include <stdexcept>
#include <string>

namespace chatterbox {

enum class ErrorKind {
  kModelFile,     // a model file is missing, truncated, malformed, or has wrong tensors
  kIo,            // the operating system refused a read, write or mapping
  kInvalidInput,  // bad text, bad voice file, bad parameter value
  kCancelled,     // the utterance was cancelled (flush, state change); not a failure
  kDevice,        // the requested device is not available in this libtorch
  kInternal,      // a libtorch error or a broken invariant
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

inline const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kModelFile:
      return "model-file";
    case ErrorKind::kIo:
      return "io";
    case ErrorKind::kInvalidInput:
      return "invalid-input";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kDevice:
      return "device";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace chatterbox
