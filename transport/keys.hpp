// The publisher key of a repository (docs/transport.md, "Signed refs"): an ed25519 key pair. Only its holder can
// publish the repository's refs in the DHT; anyone can read and verify them with the public key, which is also the
// repository's address: dvt://<public key, 64 hex digits>.
//
// The secret is a 32-byte seed stored as 64 hex digits and a newline in .dvt/keys/publisher (mode 0600, written
// atomically); the key pair is derived from it. `dvt init` makes one; `dvt init --key FILE` copies an existing one
// (a team shares one key file), and `dvt key import FILE` replaces it.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace dvt::transport {

// ed25519 keys as bytes (libtorrent's lt::dht key types are made from them inside transport/: dht.hpp's to_lt).
struct PublicKey {
    std::array<char, 32> bytes{};
    bool operator==(const PublicKey&) const = default;
};
struct SecretKey {
    std::array<char, 64> bytes{};
};

struct PublisherKey {
    PublicKey pk;
    SecretKey sk;
    std::string public_hex() const;
};

std::filesystem::path key_path(const std::filesystem::path& dvt_dir);

// Reads a key file (64 hex digits, optional trailing newline). Throws not_found if absent, corrupt if malformed, and
// refuses (conflict) a file readable by group or others.
PublisherKey load_key_file(const std::filesystem::path& p);
// nullopt when the repository has no key.
std::optional<PublisherKey> load_repo_key(const std::filesystem::path& dvt_dir);
// Writes a fresh random key (or the seed from `from_file`) as the repository's key, mode 0600. Returns it.
PublisherKey create_repo_key(const std::filesystem::path& dvt_dir, const std::optional<std::filesystem::path>& from_file = {});

// "dvt://<64 hex>" or just the 64 hex digits -> public key. Throws usage.
PublicKey parse_repo_url(std::string_view text);
std::string public_hex(const PublicKey& pk);

}  // namespace dvt::transport
