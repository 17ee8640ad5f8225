#include "transport/s3.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/http.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxSinglePut = 5ull << 30;  // S3's limit for one PUT

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

bool key_safe(const std::string& s) {
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) return false;
    return s.find("//") == std::string::npos && s.find("..") == std::string::npos;
}

std::string md5_hex_of_file(const fs::path& p) {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
    util::Fd fd = util::open_read(p);
    Bytes buf(1u << 20);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) throw_errno("cannot read " + p.string());
        if (n == 0) break;
        EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    return to_hex(md, len);
}

std::string md5_hex(const Bytes& b) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(b.data(), b.size(), md, &len, EVP_md5(), nullptr);
    return to_hex(md, len);
}

class S3Sink : public MirrorSink {
public:
    explicit S3Sink(S3Target t) : m_t(std::move(t)) {}

    std::string where() const override { return "s3://" + m_t.bucket + (m_t.prefix.empty() ? "" : "/" + m_t.prefix); }

    bool has(const std::string& key, std::uint64_t size) override {
        auto r = request("HEAD", key);
        if (r.status == 404) return false;
        check(r, "HEAD", key);
        auto len = r.headers.find("content-length");
        return len != r.headers.end() && len->second == std::to_string(size);
    }

    void put(const std::string& key, const Bytes& data) override {
        util::HttpRequest req = base("PUT", key);
        req.body = &data;
        check(util::http_request(req), "PUT", key);
        verify(key, data.size(), md5_hex(data));
    }

    void put_file(const std::string& key, const fs::path& file, std::uint64_t size) override {
        if (size > kMaxSinglePut)
            throw Error(ErrorKind::unsupported, "cannot upload " + file.string() + " to " + where() + ": " +
                                                    std::to_string(size) + " bytes is over S3's 5 GiB for one PUT "
                                                    "(multipart uploads are not implemented; use a smaller pack.size)");
        std::string md5 = md5_hex_of_file(file);
        util::HttpRequest req = base("PUT", key);
        req.body_file = file;
        req.timeout = std::chrono::milliseconds(600000 + static_cast<std::int64_t>(size / 1000));  // >= 1 MB/s
        check(util::http_request(req), "PUT", key);
        verify(key, size, md5);
    }

private:
    std::string url(const std::string& key) const {
        return m_t.endpoint + "/" + m_t.bucket + "/" + (m_t.prefix.empty() ? "" : m_t.prefix + "/") + key;
    }
    util::HttpRequest base(const std::string& method, const std::string& key) const {
        util::HttpRequest req;
        req.method = method;
        req.url = url(key);
        req.aws_sigv4 = "aws:amz:" + m_t.region + ":s3";
        req.user_password = m_t.key_id + ":" + m_t.secret;
        req.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
        if (!m_t.session_token.empty()) req.headers.push_back("x-amz-security-token: " + m_t.session_token);
        req.timeout = std::chrono::seconds(60);
        return req;
    }
    util::HttpResponse request(const std::string& method, const std::string& key) const {
        return util::http_request(base(method, key));
    }
    void check(const util::HttpResponse& r, const std::string& what, const std::string& key) const {
        if (r.error.empty()) return;
        std::string detail = r.error;
        Bytes explained = r.body;
        if (what == "HEAD" && r.status >= 400) {  // a HEAD answer has no body: ask again for S3's explanation
            util::HttpRequest get = base("GET", key);
            get.max_size = 64u << 10;
            explained = util::http_request(get).body;
        }
        if (!explained.empty()) {  // S3 explains itself in XML: keep its <Code>
            std::string body(explained.begin(), explained.end());
            auto a = body.find("<Code>"), b = body.find("</Code>");
            if (a != std::string::npos && b != std::string::npos && b > a) detail += " (" + body.substr(a + 6, b - a - 6) + ")";
        }
        throw Error(ErrorKind::network, what + " " + url(key) + " failed: " + detail);
    }
    // Reads the object back: its size and ETag must be what was uploaded. A server may answer for the old state for a
    // moment after the PUT (s3rver does, and stores with eventual consistency may): asked again, at most 5 times.
    void verify(const std::string& key, std::uint64_t size, const std::string& md5) {
        std::string problem;
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
            auto r = request("HEAD", key);
            check(r, "HEAD", key);
            auto len = r.headers.find("content-length");
            auto etag = r.headers.find("etag");
            std::string e = etag == r.headers.end() ? "" : etag->second;
            if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
            if (len == r.headers.end() || len->second != std::to_string(size))
                problem = "with another size than was uploaded";
            else if (!e.empty() && e.find('-') == std::string::npos && e != md5)  // "<md5>-<n>": multipart, no MD5
                problem = "with an ETag that is not the MD5 of what was uploaded";
            else
                return;
        }
        throw Error(ErrorKind::network, "the bucket holds " + url(key) + " " + problem);
    }

    S3Target m_t;
};

}  // namespace

bool is_s3_url(const std::string& target) { return target.starts_with("s3://"); }

S3Target s3_target(const std::string& url, const std::string& endpoint, const core::Config& config) {
    S3Target t;
    if (!is_s3_url(url)) throw Error(ErrorKind::usage, "'" + url + "' is not an s3://BUCKET[/PREFIX] URL");
    std::string rest = url.substr(5);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    auto slash = rest.find('/');
    t.bucket = rest.substr(0, slash);
    t.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (t.bucket.empty() || !key_safe(t.bucket) || t.bucket.find('/') != std::string::npos || !key_safe(t.prefix) ||
        t.prefix.starts_with('/'))
        throw Error(ErrorKind::usage, "'" + url + "' is not an s3://BUCKET[/PREFIX] URL (letters, digits, '-', '_', '.', '/')");
    t.region = env("AWS_REGION");
    if (t.region.empty()) t.region = env("AWS_DEFAULT_REGION");
    if (t.region.empty()) t.region = config.get_or("s3.region", "us-east-1");
    t.endpoint = !endpoint.empty() ? endpoint : config.get_or("s3.endpoint", "https://s3." + t.region + ".amazonaws.com");
    while (!t.endpoint.empty() && t.endpoint.back() == '/') t.endpoint.pop_back();
    if (!util::is_http_url(t.endpoint) || t.endpoint.find('/', t.endpoint.find("://") + 3) != std::string::npos)
        throw Error(ErrorKind::usage, "S3 endpoint '" + t.endpoint + "' is not an http(s)://HOST[:PORT] URL");
    t.key_id = env("AWS_ACCESS_KEY_ID");
    t.secret = env("AWS_SECRET_ACCESS_KEY");
    t.session_token = env("AWS_SESSION_TOKEN");
    if (t.key_id.empty()) t.key_id = config.get_or("s3.access-key-id", "");
    if (t.secret.empty()) t.secret = config.get_or("s3.secret-access-key", "");
    if (t.key_id.empty() || t.secret.empty())
        throw Error(ErrorKind::usage, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or config "
                                      "s3.access-key-id and s3.secret-access-key)");
    return t;
}

std::unique_ptr<MirrorSink> s3_sink(const S3Target& target) { return std::make_unique<S3Sink>(target); }

}  // namespace dvt::transport
