// S3-compatible buckets as mirrors (docs/transport.md, "HTTP mirrors"; #20): `dvt push --mirror s3://BUCKET/PREFIX`
// uploads the mirror layout (transport/mirror.hpp) with signed PUTs (AWS Signature Version 4, done by libcurl),
// path-style: <endpoint>/<bucket>/<prefix>/<key>. Pullers then name the bucket by its HTTPS URL
// (`--mirror https://ENDPOINT/BUCKET/PREFIX/`), read like any static HTTP server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "transport/mirror.hpp"

namespace dvt::transport {

struct S3Target {
    std::string bucket, prefix;  // prefix without leading or trailing '/', may be empty
    std::string endpoint;        // scheme://host[:port], no trailing '/'
    std::string region = "us-east-1";
    std::string key_id, secret, session_token;
};

bool is_s3_url(const std::string& target);

// "s3://BUCKET[/PREFIX]". The endpoint is `endpoint` (--s3-endpoint), else config s3.endpoint, else
// https://s3.<region>.amazonaws.com; the region AWS_REGION (or AWS_DEFAULT_REGION), else config s3.region, else
// us-east-1; credentials AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), else config
// s3.access-key-id / s3.secret-access-key. Throws ErrorKind::usage for a malformed URL, an endpoint that is not
// http(s)://, a bucket or prefix with characters S3 keys should not have, or missing credentials.
S3Target s3_target(const std::string& url, const std::string& endpoint, const core::Config& config);

// A mirror sink writing to the bucket: has() is a HEAD (present with the same size: skipped, so a push that was
// interrupted uploads only what is missing); each put is a PUT read back by a HEAD whose size and ETag (the MD5 of
// the bytes, for a single-part upload) must match, else ErrorKind::network. A file over 5 GiB (S3's single-PUT limit)
// is ErrorKind::unsupported. Network or authorization failures are ErrorKind::network with the server's answer.
std::unique_ptr<MirrorSink> s3_sink(const S3Target& target);

}  // namespace dvt::transport
