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
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.hpp"

namespace dvt::util {

struct HttpResult {
    int status = 0;     // 0: no HTTP answer (see error)
    Bytes body;
    std::string error;  // why there is no usable answer (empty for status 200)
};

HttpResult http_get(const std::string& url, std::chrono::milliseconds timeout, std::uint64_t max_size);

// Any request (S3 uploads: transport/s3.hpp). The body is `body`, or the file `body_file` (streamed), or none.
// With aws_sigv4 (curl's CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3") the request is signed with `user_password`
// ("KEY:SECRET"). The answer's headers are given with lower-case names. Status 2xx leaves `error` empty.
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    const Bytes* body = nullptr;
    std::optional<std::filesystem::path> body_file;
    std::string aws_sigv4, user_password;
    std::chrono::milliseconds timeout{60000};
    std::uint64_t max_size = 16u << 20;  // of the answer's body
};
struct HttpResponse {
    int status = 0;
    Bytes body;
    std::map<std::string, std::string> headers;
    std::string error;
};
HttpResponse http_request(const HttpRequest& req);

// Is `url` an http:// or https:// URL with a host (what a mirror may be)?
bool is_http_url(std::string_view url);

}  // namespace dvt::util
