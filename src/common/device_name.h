// The grammar of device names: auto | cpu | cuda | cuda:N. One parser for the engine (which then
// asks libtorch whether the device exists) and for hosts that validate a setting before loading.
#pragma once

#include <string>

namespace chatterbox {

inline bool is_device_name(const std::string& name) {
  if (name == "auto" || name == "cpu" || name == "cuda") return true;
  if (name.compare(0, 5, "cuda:") != 0 || name.size() == 5) return false;
  return name.find_first_not_of("0123456789", 5) == std::string::npos;
}

}  // namespace chatterbox
