// The DHT: discovery without infrastructure, and signed refs (docs/transport.md, "DHT" and "Signed refs").
//
//  - A session joins the DHT only when asked (DhtOptions::enabled). Bootstrap nodes come from the caller
//    (--bootstrap, or config dht.bootstrap); with none, the public BitTorrent DHT's well-known routers are used
//    (real use; tests always give private nodes on 127.0.0.x). With private (loopback/LAN) nodes the per-/24
//    routing restrictions are lifted, since every node of a test lives in 127.0.0.0/24.
//  - Every torrent of a DHT session is announced under its info-hash (truncated to 20 bytes, BEP 52), so a
//    commit id alone finds its peers.
//  - A ref is a BEP 44 mutable item: key = the publisher's ed25519 public key, salt = the ref name (e.g.
//    "refs/heads/main", at most 64 bytes), value = {"c": <32-byte commit id>, "v": 1}, signed, with a sequence number
//    that only goes up (max(previous + 1, current Unix time in ms)). The list of published ref names is the item
//    with salt "dvt-refs": {"r": [names], "v": 1}. Values are at most 1000 bytes bencoded.
//  - A reader accepts only answers whose signature verifies for the key, salt, seq and value (checked again here,
//    on top of libtorrent's check), whose value decodes, and takes the highest sequence number seen within a short
//    window after the first valid answer; anything else is reported as a warning and ignored.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <libtorrent/entry.hpp>
#include <libtorrent/kademlia/ed25519.hpp>
#include <libtorrent/kademlia/types.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "transport/dht_options.hpp"
#include "transport/keys.hpp"
#include "transport/session.hpp"
#include "util/hash.hpp"

namespace dvt::transport {

constexpr const char* kRefListSalt = "dvt-refs";

// dvt's key bytes as libtorrent's key types.
inline lt::dht::public_key to_lt(const PublicKey& k) { return lt::dht::public_key(k.bytes.data()); }
inline lt::dht::secret_key to_lt(const SecretKey& k) { return lt::dht::secret_key(k.bytes.data()); }

// Joins the DHT with `o` (no-op when !o.enabled).
void enable_dht(SwarmSession& s, const DhtOptions& o);
// Waits until the DHT knows at least one node. Throws ErrorKind::no_peers ("no DHT node answered") after `timeout`,
// or ("interrupted") as soon as `interrupted` (polled about every 50 ms, if given) returns true.
void wait_dht_ready(SwarmSession& s, std::chrono::milliseconds timeout, const std::function<bool()>& interrupted = {});

// --- records
lt::entry ref_value(const Hash32& commit);
std::optional<Hash32> decode_ref_value(const lt::entry& v);  // nullopt unless {"c": 32 bytes, "v": 1}
lt::entry ref_list_value(const std::vector<std::string>& names);
std::optional<std::vector<std::string>> decode_ref_list(const lt::entry& v);
// The records a publisher puts for `refs` (name, commit): one per ref (with "w": [mirror_url] when set), then the
// ref list. Names longer than 64 bytes cannot be a salt: they are left out and listed in `skipped`.
std::vector<std::pair<std::string, lt::entry>> ref_items(const std::vector<std::pair<std::string, Hash32>>& refs,
                                                        const std::string& mirror_url,
                                                        std::vector<std::string>* skipped = nullptr);
// The http:// and https:// mirror URLs a ref record names ("w"), if any; none for a value that is not a dictionary.
std::vector<std::string> record_web_seeds(const lt::entry& value);

// The bytes BEP 44 signs: ["4:salt" <len>:<salt>] "3:seqi" <seq> "e1:v" <bencoded value>.
std::string signed_bytes(const std::string& salt, std::int64_t seq, const std::string& bencoded_value);
bool verify_record(const PublicKey& pk, const std::string& salt, std::int64_t seq,
                   const std::string& bencoded_value, const lt::dht::signature& sig);

struct Answer {  // one dht_mutable_item_alert
    std::array<char, 32> key{};
    std::array<char, 64> signature{};
    std::int64_t seq = 0;
    std::string salt;
    lt::entry item;
    bool authoritative = false;
};

struct Choice {
    std::optional<Answer> best;  // highest seq among valid answers for (pk, salt)
    std::vector<std::string> warnings;
};
// Picks the answer to trust (pure: used by resolve_* and by tests). `valid_value` says whether a value decodes.
Choice choose_answer(const PublicKey& pk, const std::string& salt, const std::vector<Answer>& answers,
                     const std::function<bool(const lt::entry&)>& valid_value);

// --- network operations (the caller's thread must not be polling the session meanwhile)
struct Published {
    std::string salt;
    std::int64_t seq = 0;
    int nodes = 0;  // nodes that acknowledged the put (not proof of storage)
};
// Puts signed items, one per (salt, value), and waits for their dht_put_alerts (up to `timeout`; no_peers
// "interrupted" as soon as `interrupted`, if given, returns true).
std::vector<Published> put_items(SwarmSession& s, const PublisherKey& key,
                                 const std::vector<std::pair<std::string, lt::entry>>& items,
                                 std::chrono::milliseconds timeout, const std::function<bool()>& interrupted = {});
// Re-puts an item as received (signature and seq unchanged): what followers do to keep records alive.
void republish(SwarmSession& s, const Answer& a);

// Looks up (pk, salt): returns the best valid answer after `window` past the first valid one, or when an
// authoritative answer arrives, or nullopt after `timeout`. Warnings go to `warn`.
std::optional<Answer> get_item(SwarmSession& s, const PublicKey& pk, const std::string& salt,
                               const std::function<bool(const lt::entry&)>& valid_value,
                               std::chrono::milliseconds window, std::chrono::milliseconds timeout,
                               const std::function<void(const std::string&)>& warn);

// A ref resolved through the DHT. Throws ErrorKind::not_found ("no such ref") when nothing valid answers in time.
struct ResolvedRef {
    Hash32 commit;
    std::int64_t seq = 0;
    Answer answer;
};
ResolvedRef resolve_ref(SwarmSession& s, const PublicKey& pk, const std::string& ref,
                        std::chrono::milliseconds timeout, const std::function<void(const std::string&)>& warn);

}  // namespace dvt::transport
