// Signed ref records (BEP 44 mutable items): dvt's own check of signature, name and value, and the choice of the
// highest sequence number. Records are signed with libtorrent's sign_mutable_item, so the canonical bytes dvt
// verifies are checked against libtorrent's.
#include <catch2/catch.hpp>

#include <libtorrent/bencode.hpp>
#include <libtorrent/kademlia/item.hpp>

#include "transport/dht.hpp"
#include "util/error.hpp"

using namespace dvt;
using namespace dvt::transport;

namespace {

PublisherKey key_from(char c) {
    std::array<char, 32> seed;
    seed.fill(c);
    auto [pk, sk] = lt::dht::ed25519_create_keypair(seed);
    return PublisherKey{PublicKey{pk.bytes}, SecretKey{sk.bytes}};
}

Answer signed_answer(const PublisherKey& k, const std::string& salt, std::int64_t seq, const lt::entry& v) {
    std::string b;
    lt::bencode(std::back_inserter(b), v);
    Answer a;
    a.key = k.pk.bytes;
    a.salt = salt;
    a.seq = seq;
    a.item = v;
    a.signature = lt::dht::sign_mutable_item({b.data(), static_cast<std::ptrdiff_t>(b.size())},
                                             {salt.data(), static_cast<std::ptrdiff_t>(salt.size())},
                                             lt::dht::sequence_number(seq), to_lt(k.pk), to_lt(k.sk))
                      .bytes;
    return a;
}

Hash32 commit(std::uint8_t b) {
    Hash32 h;
    h.bytes.fill(b);
    return h;
}

bool valid(const lt::entry& v) { return decode_ref_value(v).has_value(); }

}  // namespace

TEST_CASE("a ref record signed by the key verifies with dvt's canonical bytes", "[dht]") {
    auto k = key_from('a');
    auto a = signed_answer(k, "refs/heads/main", 42, ref_value(commit(7)));
    auto c = choose_answer(k.pk, "refs/heads/main", {a}, valid);
    REQUIRE(c.best);
    CHECK(c.warnings.empty());
    CHECK(*decode_ref_value(c.best->item) == commit(7));
}

TEST_CASE("forged, misnamed, replayed and malformed records are ignored with a warning", "[dht]") {
    auto k = key_from('a');
    auto other = key_from('b');
    const std::string ref = "refs/heads/main";
    auto good = signed_answer(k, ref, 100, ref_value(commit(1)));

    SECTION("signed by another key but claiming ours") {
        auto forged = signed_answer(other, ref, 200, ref_value(commit(9)));
        forged.key = k.pk.bytes;
        auto c = choose_answer(k.pk, ref, {good, forged}, valid);
        REQUIRE(c.best);
        CHECK(*decode_ref_value(c.best->item) == commit(1));
        REQUIRE(c.warnings.size() == 1);
        CHECK(c.warnings[0].find("bad signature") != std::string::npos);
    }
    SECTION("a valid signature over another value (value swapped in transit)") {
        auto swapped = signed_answer(k, ref, 200, ref_value(commit(2)));
        swapped.item = ref_value(commit(9));
        auto c = choose_answer(k.pk, ref, {good, swapped}, valid);
        CHECK(*decode_ref_value(c.best->item) == commit(1));
        CHECK(c.warnings.size() == 1);
    }
    SECTION("a record of another ref name replayed under this one") {
        auto other_ref = signed_answer(k, "refs/heads/dev", 300, ref_value(commit(3)));
        other_ref.salt = ref;
        auto c = choose_answer(k.pk, ref, {good, other_ref}, valid);
        CHECK(*decode_ref_value(c.best->item) == commit(1));
        CHECK(c.warnings.size() == 1);
    }
    SECTION("an older record replayed after a newer one") {
        auto old = signed_answer(k, ref, 50, ref_value(commit(5)));
        auto c = choose_answer(k.pk, ref, {good, old}, valid);
        CHECK(c.best->seq == 100);
        CHECK(*decode_ref_value(c.best->item) == commit(1));
        REQUIRE(c.warnings.size() == 1);
        CHECK(c.warnings[0].find("older") != std::string::npos);
    }
    SECTION("a newer record wins") {
        auto newer = signed_answer(k, ref, 150, ref_value(commit(6)));
        auto c = choose_answer(k.pk, ref, {good, newer}, valid);
        CHECK(*decode_ref_value(c.best->item) == commit(6));
    }
    SECTION("a correctly signed value that is not a commit id") {
        lt::entry bad(lt::entry::dictionary_t);
        bad["c"] = std::string("short");
        bad["v"] = 1;
        auto a = signed_answer(k, ref, 500, bad);
        auto zero = signed_answer(k, ref, 600, ref_value(Hash32{}));
        auto c = choose_answer(k.pk, ref, {good, a, zero}, valid);
        CHECK(*decode_ref_value(c.best->item) == commit(1));
        CHECK(c.warnings.size() == 2);
    }
    SECTION("nothing valid: no answer") {
        auto forged = signed_answer(other, ref, 200, ref_value(commit(9)));
        forged.key = k.pk.bytes;
        auto c = choose_answer(k.pk, ref, {forged}, valid);
        CHECK_FALSE(c.best);
    }
}

TEST_CASE("ref values and ref lists round-trip and reject what they do not describe", "[dht]") {
    CHECK(*decode_ref_value(ref_value(commit(4))) == commit(4));
    lt::entry v2 = ref_value(commit(4));
    v2["v"] = 2;
    CHECK_FALSE(decode_ref_value(v2));
    CHECK_FALSE(decode_ref_value(lt::entry(std::string("x"))));
    auto l = decode_ref_list(ref_list_value({"refs/heads/main", "refs/tags/v1"}));
    REQUIRE(l);
    CHECK(l->size() == 2);
    CHECK_FALSE(decode_ref_list(ref_value(commit(1))));
    CHECK(signed_bytes("s", 3, "i1e") == "4:salt1:s3:seqi3e1:vi1e");
}

TEST_CASE("repository addresses are dvt:// and 64 hex digits", "[dht]") {
    auto k = key_from('z');
    auto url = "dvt://" + k.public_hex();
    CHECK(parse_repo_url(url).bytes == k.pk.bytes);
    CHECK(parse_repo_url(k.public_hex()).bytes == k.pk.bytes);
    for (const char* bad : {"dvt://", "dvt://abc", "http://x", ""}) {
        try {
            parse_repo_url(bad);
            FAIL("accepted " << bad);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::usage);
        }
    }
}
