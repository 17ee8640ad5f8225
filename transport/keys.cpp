#include "transport/keys.hpp"

#include <sys/stat.h>

#include <libtorrent/kademlia/ed25519.hpp>

#include <cctype>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

std::string hex(const char* p, std::size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(p[i]);
        s += d[c >> 4];
        s += d[c & 15];
    }
    return s;
}

std::optional<std::array<char, 32>> unhex32(std::string_view t) {
    if (t.size() != 64) return std::nullopt;
    auto h = Hash32::from_hex(t);
    if (!h) return std::nullopt;
    std::array<char, 32> out;
    for (std::size_t i = 0; i < 32; ++i) out[i] = static_cast<char>(h->bytes[i]);
    return out;
}

PublisherKey from_seed(const std::array<char, 32>& seed) {
    auto [pk, sk] = lt::dht::ed25519_create_keypair(seed);
    PublisherKey k;
    k.pk.bytes = pk.bytes;
    k.sk.bytes = sk.bytes;
    return k;
}

std::array<char, 32> read_seed(const fs::path& p) {
    auto text = util::try_read_text(p);
    if (!text) throw Error(ErrorKind::not_found, "key file " + p.string() + " not found");
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & 077))
        throw Error(ErrorKind::conflict, "key file " + p.string() + " is readable by others (chmod 600 it)");
    std::string t = *text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    auto seed = unhex32(t);
    if (!seed) throw Error(ErrorKind::corrupt, "key file " + p.string() + " does not hold a 64-hex-digit ed25519 seed");
    return *seed;
}

}  // namespace

std::string PublisherKey::public_hex() const { return transport::public_hex(pk); }

std::string public_hex(const PublicKey& pk) { return hex(pk.bytes.data(), pk.bytes.size()); }

fs::path key_path(const fs::path& dvt_dir) { return dvt_dir / "keys" / "publisher"; }

PublisherKey load_key_file(const fs::path& p) { return from_seed(read_seed(p)); }

std::optional<PublisherKey> load_repo_key(const fs::path& dvt_dir) {
    auto p = key_path(dvt_dir);
    if (!util::path_exists(p)) return std::nullopt;
    return load_key_file(p);
}

PublisherKey create_repo_key(const fs::path& dvt_dir, const std::optional<fs::path>& from_file) {
    std::array<char, 32> seed = from_file ? read_seed(*from_file) : lt::dht::ed25519_create_seed();
    auto p = key_path(dvt_dir);
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) throw Error(ErrorKind::io, "cannot create " + p.parent_path().string() + ": " + ec.message());
    ::chmod(p.parent_path().c_str(), 0700);
    util::atomic_write_file(p, hex(seed.data(), seed.size()) + "\n", 0600);
    return from_seed(seed);
}

PublicKey parse_repo_url(std::string_view text) {
    std::string_view t = text;
    if (t.starts_with("dvt://")) t.remove_prefix(6);
    while (t.ends_with('/')) t.remove_suffix(1);
    std::string lower(t);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto b = unhex32(lower);
    if (!b) throw Error(ErrorKind::usage, "'" + std::string(text) + "' is not a repository address (dvt://<64 hex digits>)");
    return PublicKey{*b};
}

}  // namespace dvt::transport
