#include "util/http.hpp"

#include <curl/curl.h>

#include <cstdlib>
#include <memory>

namespace dvt::util {

namespace {

struct Sink {
    Bytes* body;
    std::uint64_t max;
    bool too_large = false;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    const size_t len = size * n;
    if (s->body->size() + len > s->max) {
        s->too_large = true;
        return 0;  // stops the transfer (CURLE_WRITE_ERROR)
    }
    s->body->insert(s->body->end(), reinterpret_cast<std::uint8_t*>(data), reinterpret_cast<std::uint8_t*>(data) + len);
    return len;
}

void global_init() {
    static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
    (void)done;
}

}  // namespace

bool is_http_url(std::string_view url) {
    for (std::string_view scheme : {"http://", "https://"})
        if (url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != '/') return true;
    return false;
}

HttpResult http_get(const std::string& url, std::chrono::milliseconds timeout, std::uint64_t max_size) {
    HttpResult res;
    if (!is_http_url(url)) {
        res.error = "not an http:// or https:// URL";
        return res;
    }
    global_init();
    std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
    if (!h) {
        res.error = "cannot start an HTTP transfer";
        return res;
    }
    char err[CURL_ERROR_SIZE] = {};
    Sink sink{&res.body, max_size};
    CURL* c = h.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() > 0 ? timeout.count() : 1));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dvt/" DVT_VERSION);
    if (max_size < static_cast<std::uint64_t>(INT64_MAX))
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_size));
    if (const char* ca = std::getenv("SSL_CERT_FILE"); ca && *ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    res.status = static_cast<int>(status);
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        res.status = 0;
        res.body.clear();
        res.error = "answer larger than " + std::to_string(max_size) + " bytes";
    } else if (rc != CURLE_OK) {
        res.status = 0;
        res.body.clear();
        res.error = *err ? err : curl_easy_strerror(rc);
    } else if (res.status != 200) {
        res.error = "HTTP status " + std::to_string(res.status);
    }
    return res;
}

}  // namespace dvt::util
