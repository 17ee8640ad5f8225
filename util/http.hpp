// A minimal HTTP/1.1 GET for plain http:// URLs (mirrors: docs/transport.md, "HTTP mirrors"). Not a general
// client: no TLS, no redirects, no chunked bodies. Callers verify every byte against a hash, so a mirror is never
// trusted.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace dvt::util {

struct HttpResult {
    int status = 0;     // 0: no HTTP answer (see error)
    Bytes body;
    std::string error;  // why there is no usable answer
};

// GET `url` (http://HOST[:PORT]/PATH). Gives up after `timeout` in total; a body larger than `max_size` is an error.
HttpResult http_get(const std::string& url, std::chrono::milliseconds timeout, std::uint64_t max_size);

}  // namespace dvt::util
