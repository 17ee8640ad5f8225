// Fuzz target: signed DHT records (transport/dht.hpp): a BEP 44 value as any publisher could sign it, decoded by
// decode_ref_value / decode_ref_list / record_web_seeds and judged by choose_answer, as `dvt pull dvt://KEY`, the
// follower and `dvt remote show` do with what DHT nodes answer.
//
// Input: seed[32] (the publisher's ed25519 key pair is made from it) | seq (i64 LE) | u8 salt_len | salt | value.
// The value is bdecoded by libtorrent as an alert's item is, then signed with the key pair: the attacker is a
// publisher with a valid key and hostile content. A second answer carries a forged signature.
// Properties: the signed answer is chosen exactly when its value decodes; the forged one never is; a value that
// decodes encodes back to the same commit id or ref list.
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/kademlia/item.hpp>

#include <cstring>
#include <iterator>

#include "fuzz/fuzz.hpp"
#include "transport/dht.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    using namespace dvt::transport;
    if (size < 41) return 0;
    std::array<char, 32> seed{};
    std::memcpy(seed.data(), data, 32);
    std::int64_t seq = 0;
    std::memcpy(&seq, data + 32, 8);
    std::size_t salt_len = std::min<std::size_t>(data[40], size - 41);
    std::string salt(reinterpret_cast<const char*>(data + 41), salt_len);
    const char* value = reinterpret_cast<const char*>(data + 41 + salt_len);
    const auto value_len = static_cast<int>(size - 41 - salt_len);

    lt::error_code ec;
    lt::bdecode_node node = lt::bdecode({value, value_len}, ec);
    if (ec) return 0;
    lt::entry v;
    v = node;

    auto commit = decode_ref_value(v);
    if (commit || decode_ref_list(v)) fuzz::note_accepted();
    if (commit) fuzz::require(decode_ref_value(ref_value(*commit)) == commit, "dht: ref value does not round-trip");
    auto list = decode_ref_list(v);
    if (list) {
        for (const auto& n : *list) fuzz::require(!n.empty() && n.size() <= 64, "dht: ref list name out of bounds");
        fuzz::require(decode_ref_list(ref_list_value(*list)) == list, "dht: ref list does not round-trip");
    }
    for (const auto& u : record_web_seeds(v)) fuzz::require(u.starts_with("http://"), "dht: web seed not http://");

    auto [pk, sk] = lt::dht::ed25519_create_keypair(seed);
    std::string encoded;
    lt::bencode(std::back_inserter(encoded), v);
    Answer signed_a;
    signed_a.key = pk.bytes;
    signed_a.salt = salt;
    signed_a.seq = seq;
    signed_a.item = v;
    signed_a.signature = lt::dht::sign_mutable_item({encoded.data(), static_cast<std::ptrdiff_t>(encoded.size())},
                                                    {salt.data(), static_cast<std::ptrdiff_t>(salt.size())},
                                                    lt::dht::sequence_number(seq), pk, sk)
                             .bytes;
    Answer forged = signed_a;
    forged.signature[static_cast<std::size_t>(seq) & 63] ^= 1;
    forged.seq = seq == INT64_MAX ? seq : seq + 1;  // would win if its signature were believed

    const bool is_list = salt == kRefListSalt;
    auto valid = [&](const lt::entry& e) {
        return is_list ? decode_ref_list(e).has_value() : decode_ref_value(e).has_value();
    };
    Choice c = choose_answer(PublicKey{pk.bytes}, salt, {forged, signed_a}, valid);
    fuzz::require(c.best.has_value() == (is_list ? list.has_value() : commit.has_value()),
                  "dht: a signed record was chosen although its value is invalid, or refused although valid");
    if (c.best) {
        fuzz::require(c.best->signature == signed_a.signature && c.best->seq == seq,
                      "dht: a record with a forged signature was chosen");
        fuzz::require(c.best->item == v, "dht: the chosen record's value differs from the signed one");
    }
    fuzz::require(!c.warnings.empty(), "dht: the forged record was ignored without a warning");
    return 0;
}
