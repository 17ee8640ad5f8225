#include "util/http.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
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

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* headers = static_cast<std::map<std::string, std::string>*>(user);
    std::string_view line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
        (*headers)[name] = std::string(value);
    }
    return size * n;
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

HttpResponse http_request(const HttpRequest& req) {
    HttpResponse res;
    if (!is_http_url(req.url)) {
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
    Sink sink{&res.body, req.max_size};
    CURL* c = h.get();
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req.method == "GET" ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count() > 0 ? req.timeout.count() : 1));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &res.headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dvt/" DVT_VERSION);
    if (const char* ca = std::getenv("SSL_CERT_FILE"); ca && *ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> upload(nullptr, std::fclose);
    if (req.method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.method == "PUT") {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        if (req.body_file) {
            upload.reset(std::fopen(req.body_file->c_str(), "rb"));
            if (!upload) {
                res.error = "cannot open " + req.body_file->string();
                return res;
            }
            std::error_code ec;
            auto size = std::filesystem::file_size(*req.body_file, ec);
            curl_easy_setopt(c, CURLOPT_READDATA, upload.get());
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(ec ? 0 : size));
        } else {
            static const Bytes kEmpty;
            const Bytes& b = req.body ? *req.body : kEmpty;
            curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(b.data()));
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(b.size()));
        }
    } else if (req.method != "GET") {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        if (req.body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(req.body->data()));
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
        }
    }
    if (!req.aws_sigv4.empty()) {
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req.aws_sigv4.c_str());
        curl_easy_setopt(c, CURLOPT_USERPWD, req.user_password.c_str());
    }
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
    for (const auto& line : req.headers) headers.reset(curl_slist_append(headers.release(), line.c_str()));
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    res.status = static_cast<int>(status);
    if (sink.too_large) {
        res.status = 0;
        res.body.clear();
        res.error = "answer larger than " + std::to_string(req.max_size) + " bytes";
    } else if (rc != CURLE_OK) {
        res.status = 0;
        res.body.clear();
        res.error = *err ? err : curl_easy_strerror(rc);
    } else if (res.status < 200 || res.status > 299) {
        res.error = "HTTP status " + std::to_string(res.status);
    }
    return res;
}

HttpResult http_get(const std::string& url, std::chrono::milliseconds timeout, std::uint64_t max_size) {
    HttpRequest req;
    req.url = url;
    req.timeout = timeout;
    req.max_size = max_size;
    HttpResponse r = http_request(req);
    HttpResult out{r.status, std::move(r.body), std::move(r.error)};
    if (out.error.empty() && out.status != 200) out.error = "HTTP status " + std::to_string(out.status);
    return out;
}

}  // namespace dvt::util
