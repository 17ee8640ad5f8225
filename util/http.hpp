// HTTP(S) GET through libcurl (mirrors: docs/transport.md, "HTTP mirrors"). Callers verify every byte against a hash,
// so a mirror is never trusted; TLS still checks the server's certificate.
//
// Contract:
//  - http:// and https:// only (redirects too, at most 5); proxies from the environment (http_proxy, https_proxy,
//    no_proxy, as curl reads them); TLS against the system CA store, or the file named by SSL_CERT_FILE (a private
//    CA; the variable OpenSSL, and so libtorrent's web seeds, honour as well).
//  - Gives up after `timeout` in total; a body larger than `max_size` is an error (the transfer stops there).
//  - Never throws for a network or HTTP failure: the result says what happened. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace dvt::util {

struct HttpResult {
    int status = 0;     // 0: no HTTP answer (see error)
    Bytes body;
    std::string error;  // why there is no usable answer (empty for status 200)
};

HttpResult http_get(const std::string& url, std::chrono::milliseconds timeout, std::uint64_t max_size);

// Is `url` an http:// or https:// URL with a host (what a mirror may be)?
bool is_http_url(std::string_view url);

}  // namespace dvt::util
