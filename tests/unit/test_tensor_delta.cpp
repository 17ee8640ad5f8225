// Tensor-aware chunking and tensor delta records (docs/format.md, "Chunking" and "Tensor delta records"): the layout
// of a safetensors header (and every malformed header read as "not a tensor file"), the cut points of a small fixed
// file, the golden bytes of one tensor delta record of a nudged fp16 tensor (its planes checked independently), a
// wrong base length, a bad element width, a missing base, a chain at the depth limit, commits that store a
// fine-tuned model as tensor deltas, the commit's `chunker` line, and an existing repository that enables it.
#include <catch2/catch.hpp>

#include <zstd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/maintenance.hpp"
#include "core/named_packs.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core_fixture.hpp"
#include "objects/codec.hpp"
#include "objects/limits.hpp"
#include "objects/object.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "objects/tensor_layout.hpp"
#include "test_support.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::CoreRepo;
using dvt::test::kind_of;

namespace {

struct Tensor {
    std::string name, dtype;
    Bytes data;
};

// A safetensors file: u64 LE header length, the JSON header padded with spaces to a multiple of 8, the data.
Bytes safetensors(const std::vector<Tensor>& ts, const std::string& metadata = R"({"format":"pt"})") {
    std::string h = "{\"__metadata__\":" + metadata;
    std::uint64_t off = 0;
    for (const auto& t : ts) {
        std::size_t w = dtype_width(t.dtype);
        h += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" + std::to_string(t.data.size() / w) +
             "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.data.size()) + "]}";
        off += t.data.size();
    }
    h += "}";
    while ((8 + h.size()) % 8) h += ' ';
    Bytes out(8);
    std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    out.insert(out.end(), h.begin(), h.end());
    for (const auto& t : ts) out.insert(out.end(), t.data.begin(), t.data.end());
    return out;
}

std::uint64_t header_end(const Bytes& file) {
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | file[static_cast<std::size_t>(i)];
    return 8 + n;
}

// fp16 weights of magnitude 2^-4..2^-1 (exponent 11..14), deterministic
Bytes fp16_weights(std::size_t n, std::uint32_t seed) {
    Bytes out(2 * n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;
        std::uint16_t sign = (x >> 31) & 1, exp = static_cast<std::uint16_t>(11 + ((x >> 24) & 3)),
                      mant = static_cast<std::uint16_t>((x >> 8) & 0x3ff);
        std::uint16_t v = static_cast<std::uint16_t>(sign << 15 | exp << 10 | mant);
        out[2 * i] = static_cast<std::uint8_t>(v);
        out[2 * i + 1] = static_cast<std::uint8_t>(v >> 8);
    }
    return out;
}

// A fine-tune step: every weight moves by a few units in its last place (within its binade, so only low bits change).
Bytes nudge(const Bytes& w, std::uint32_t step) {
    Bytes out = w;
    std::uint32_t x = step * 40503u + 7;
    for (std::size_t i = 0; i + 1 < out.size(); i += 2) {
        x = x * 1103515245u + 12345u;
        std::uint16_t v = static_cast<std::uint16_t>(out[i] | out[i + 1] << 8);
        std::uint16_t mant = v & 0x3ff;
        int d = static_cast<int>((x >> 16) % 7) - 3;
        int m = std::clamp(static_cast<int>(mant) + d, 0, 0x3ff);
        v = static_cast<std::uint16_t>((v & ~0x3ff) | m);
        out[i] = static_cast<std::uint8_t>(v);
        out[i + 1] = static_cast<std::uint8_t>(v >> 8);
    }
    return out;
}

std::vector<std::uint32_t> chunk_sizes(CoreRepo& r, const Hash32& commit, const std::string& path) {
    auto c = r.repo->store().read_commit(commit);
    auto flat = core::flatten_tree(r.repo->store(), *c);
    std::vector<std::uint32_t> out;
    for (const auto& ch : r.repo->store().read_file_object(flat.at(path).id).chunks) out.push_back(ch.size);
    return out;
}

Bytes file_bytes(CoreRepo& r, const Hash32& commit, const std::string& path) {
    auto c = r.repo->store().read_commit(commit);
    auto flat = core::flatten_tree(r.repo->store(), *c);
    Bytes out;
    for (const auto& ch : r.repo->store().read_file_object(flat.at(path).id).chunks) {
        Bytes b = r.repo->store().read(ch.id);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

core::InitOptions tensor_repo() {
    core::InitOptions o;
    o.chunker.tensors = true;
    return o;
}

std::string hex_of(const Bytes& b) { return to_hex(b.data(), b.size()); }

}  // namespace

TEST_CASE("safetensors layout: regions of a small file; malformed headers are not tensor files", "[tensor]") {
    Bytes f = safetensors({{"a", "F16", Bytes(6000, 1)}, {"b", "F32", Bytes(160000, 2)}, {"c", "U8", Bytes(3, 3)}});
    const std::uint64_t h = header_end(f);
    auto n = safetensors_prefix_length(std::span(f).first(8), f.size());
    REQUIRE(n);
    CHECK(*n == h);
    auto l = parse_safetensors(std::span(f).first(h), f.size());
    REQUIRE(l);
    REQUIRE(l->regions.size() == 4);
    CHECK(l->regions[0].begin == 0);
    CHECK(l->regions[0].end == h);
    CHECK(l->regions[0].width == 0);
    CHECK((l->regions[1].name == "a" && l->regions[1].begin == h && l->regions[1].end == h + 6000 &&
           l->regions[1].width == 2));
    CHECK((l->regions[2].name == "b" && l->regions[2].end == h + 166000 && l->regions[2].width == 4));
    CHECK((l->regions[3].name == "c" && l->regions[3].end == f.size() && l->regions[3].width == 1));

    auto parse = [](const std::string& json, std::uint64_t data_len) {
        Bytes b(8);
        std::uint64_t len = json.size();
        for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (8 * i));
        b.insert(b.end(), json.begin(), json.end());
        return parse_safetensors(b, b.size() + data_len);
    };
    CHECK(parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4));
    CHECK(parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 10)->regions.size() == 3);  // trailing
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 3));    // beyond the file
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[4,0]}})", 4));    // reversed
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"y":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}})",
                 6));                                                                   // overlapping
    CHECK(!parse(R"({"x":{"dtype":"f16","shape":[2],"data_offsets":[0,4]}})", 4));    // not a dtype name
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,-4]}})", 4));   // negative
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0]}})", 4));      // one offset
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]})", 4));     // truncated JSON
    CHECK(!parse(R"(["x"])", 4));                                                     // not an object
    CHECK(!parse(R"({"x":[[[[[[[[[[1]]]]]]]]]]})", 4));                               // nested too deep
    CHECK(!parse(R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,18446744073709551615]}})", 4));
    // header length: at least 2, at most kMaxTensorHeader, within the file
    Bytes big(8, 0);
    big[3] = 0x01;  // exactly kMaxTensorHeader (16 MiB) is allowed, one byte more is not
    CHECK(safetensors_prefix_length(big, 1ull << 30));
    big[0] = 1;
    CHECK(!safetensors_prefix_length(big, 1ull << 30));
    CHECK(!safetensors_prefix_length(Bytes{1, 0, 0, 0, 0, 0, 0, 0}, 100));
    CHECK(!safetensors_prefix_length(Bytes{200, 0, 0, 0, 0, 0, 0, 0}, 100));
}

TEST_CASE("tensor-aware chunking: golden cut points of a small file; a malformed header is cut by content",
          "[tensor]") {
    // a: 6,000 bytes of fp16 (one chunk), b: 160,000 bytes of fp32 (pieces of chunker.avg = 16,384 from its start)
    Bytes f = safetensors({{"a", "F16", fp16_weights(3000, 1)}, {"b", "F32", fp16_weights(80000, 2)}});
    const std::uint32_t h = static_cast<std::uint32_t>(header_end(f));
    CHECK(h == 168);  // 8 + the 156-byte JSON padded to a multiple of 8
    CoreRepo r("tensor-cuts", tensor_repo());
    REQUIRE(r.repo->chunker_params().tensors);
    r.write("m.safetensors", f);
    Hash32 c1 = r.commit("1");
    CHECK(chunk_sizes(r, c1, "m.safetensors") == std::vector<std::uint32_t>{168, 6000, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 12544});
    CHECK(file_bytes(r, c1, "m.safetensors") == f);
    CHECK(r.repo->store().read_commit(c1)->chunker->tensors);

    // the same bytes in a repository without tensor chunking: content-defined cuts, none at the tensor boundaries
    CoreRepo plain("tensor-cuts-plain");
    plain.write("m.safetensors", f);
    auto sizes = chunk_sizes(plain, plain.commit("1"), "m.safetensors");
    CHECK(sizes != std::vector<std::uint32_t>{168, 6000, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 12544});

    // a header whose offsets point beyond the file: not a tensor file, cut exactly as the plain repository cuts it
    Bytes bad = f;
    std::string hdr(bad.begin() + 8, bad.begin() + h);
    auto at = hdr.find("166000");
    REQUIRE(at != std::string::npos);
    hdr.replace(at, 6, "966000");
    std::memcpy(bad.data() + 8, hdr.data(), hdr.size());
    r.write("m.safetensors", bad);
    plain.write("m.safetensors", bad);
    CHECK(chunk_sizes(r, r.commit("2"), "m.safetensors") == chunk_sizes(plain, plain.commit("2"), "m.safetensors"));
}

TEST_CASE("tensor delta record golden vector; its planes; wrong base length, bad width and damage are corrupt",
          "[tensor]") {
    const Bytes base = fp16_weights(64, 7);
    const Bytes raw = nudge(base, 1);
    REQUIRE(base != raw);
    const Hash32 base_id = sha256(base);
    Bytes stored;
    encode_tensor_delta(raw, base, base_id, 2, 3, stored);
    // base id, width 2, one zstd frame (level 3, content size stated, no checksum) of planes(raw XOR base, 2)
    const std::string golden_hex =
        "6f19971dc142f0e5095d05356f0b731d94041c838d47886f00bb183edfa2d0df02"
        "28b52ffd2080cd010012040c12b025e90cc380430970ea9024ea2ec74e52061b524869aa535a7a8c01d83a01197a888ac1ffd85fd81b5"
        "6efca901825010001251005";
    CHECK(hex_of(stored) == golden_hex);
    CHECK(std::memcmp(stored.data(), base_id.bytes.data(), 32) == 0);
    CHECK(stored[32] == 2);
    // the frame decompresses (zstd alone) to the low bytes of the XOR, then the high bytes
    Bytes planes(raw.size());
    REQUIRE(ZSTD_decompress(planes.data(), planes.size(), stored.data() + 33, stored.size() - 33) == raw.size());
    for (std::size_t k = 0; k < 64; ++k) {
        CHECK(planes[k] == (raw[2 * k] ^ base[2 * k]));
        CHECK(planes[64 + k] == (raw[2 * k + 1] ^ base[2 * k + 1]));
    }
    Bytes out;
    decode_tensor_delta(stored, static_cast<std::uint32_t>(raw.size()), base, out, "t");
    CHECK(out == raw);
    decode_any_delta(Compression::tensor_delta, stored, static_cast<std::uint32_t>(raw.size()), base, out, "t");
    CHECK(out == raw);
    // size bound on a chunk-sized piece: the high plane is zero after XOR, so well under half the raw bytes
    {
        Bytes big = fp16_weights(32768, 8), moved = nudge(big, 2), s;
        encode_tensor_delta(moved, big, sha256(big), 2, 3, s);
        CHECK(s.size() < moved.size() / 2);
        Bytes plain;
        encode_record(moved, CodecParams{}, plain);  // the chunk's ordinary record
        INFO("tensor delta " << s.size() << " bytes, ordinary record " << plain.size());
        CHECK(s.size() * 2 < plain.size());
    }

    // an odd length and every width: the trailing bytes round-trip
    for (std::uint8_t w : {1, 2, 4, 8}) {
        Bytes b2 = fp16_weights(501, w), r2 = nudge(b2, w);
        b2.push_back(9);
        r2.push_back(10);
        Bytes s2, o2;
        encode_tensor_delta(r2, b2, sha256(b2), w, 3, s2);
        decode_tensor_delta(s2, static_cast<std::uint32_t>(r2.size()), b2, o2, "t");
        CHECK(o2 == r2);
    }

    // a base of another length, a bad width, a frame of another length, a truncated record: corrupt
    Bytes shorter(base.begin(), base.end() - 2);
    CHECK(kind_of([&] { decode_tensor_delta(stored, static_cast<std::uint32_t>(raw.size()), shorter, out, "t"); }) ==
          ErrorKind::corrupt);
    Bytes bad_width = stored;
    for (std::uint8_t w : {0, 3, 5, 16, 255}) {
        bad_width[32] = w;
        CHECK(kind_of([&] { decode_tensor_delta(bad_width, static_cast<std::uint32_t>(raw.size()), base, out, "t"); }) ==
              ErrorKind::corrupt);
    }
    CHECK(kind_of([&] { decode_tensor_delta(stored, static_cast<std::uint32_t>(raw.size() + 2), Bytes(raw.size() + 2),
                                            out, "t"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { decode_tensor_delta(std::span(stored).first(32), 128, base, out, "t"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { decode_record(stored, Compression::tensor_delta, 128, out, "t"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { encode_tensor_delta(raw, shorter, base_id, 2, 3, out); }) == ErrorKind::internal);
    // another base of the right length decodes to other bytes, which the record's id refuses (decode_record_bytes)
    Bytes other = base;
    other[10] ^= 0x40;
    decode_tensor_delta(stored, static_cast<std::uint32_t>(raw.size()), other, out, "t");
    CHECK(out != raw);
}

namespace {
struct PackBuilder {
    ObjectStore& store;
    PackWriter w;
    explicit PackBuilder(ObjectStore& s) : store(s), w(s.tmp_dir(), s.packs_dir()) {}
    void full(const Bytes& raw) {
        w.append(ObjectType::chunk, sha256(raw), Compression::none, static_cast<std::uint32_t>(raw.size()), raw);
    }
    void tensor(const Bytes& raw, const Bytes& base, const Hash32& base_id, std::uint16_t depth) {
        Bytes s;
        encode_tensor_delta(raw, base, base_id, 2, 3, s);
        w.append(ObjectType::chunk, sha256(raw), Compression::tensor_delta, static_cast<std::uint32_t>(raw.size()), s,
                 depth);
    }
    void done() { store.add_packs({w.seal()}); }
};
}  // namespace

TEST_CASE("a tensor delta chain at the depth limit reads; a missing base, another length, a cycle are refused",
          "[tensor]") {
    CoreRepo r("tensor-chain");
    auto& store = r.repo->store();
    std::vector<Bytes> v{fp16_weights(4096, 3)};
    for (int i = 1; i <= kMaxDeltaDepth; ++i) v.push_back(nudge(v.back(), static_cast<std::uint32_t>(i)));
    {
        PackBuilder pb(store);
        pb.full(v[0]);
        for (int i = 1; i <= kMaxDeltaDepth; ++i)
            pb.tensor(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(i - 1)],
                      sha256(v[static_cast<std::size_t>(i - 1)]), static_cast<std::uint16_t>(i));
        pb.done();
    }
    CHECK(store.read(sha256(v.back())) == v.back());
    CHECK(store.locate(sha256(v.back()))->entry.depth == kMaxDeltaDepth);
    {
        PackWriter w(store.tmp_dir(), store.packs_dir());
        Bytes x = nudge(v.back(), 99), s;
        encode_tensor_delta(x, v.back(), sha256(v.back()), 2, 3, s);
        CHECK(kind_of([&] {
                  w.append(ObjectType::chunk, sha256(x), Compression::tensor_delta, static_cast<std::uint32_t>(x.size()),
                           s, kMaxDeltaDepth + 1);
              }) == ErrorKind::internal);
    }

    const Bytes base = fp16_weights(4096, 50);
    const Bytes orphan = nudge(base, 1), longer_base = fp16_weights(4097, 51), of_longer = nudge(base, 2),
                cyc_a = nudge(base, 3), cyc_b = nudge(base, 4);
    {
        PackBuilder pb(store);
        pb.full(base);
        pb.full(longer_base);
        pb.tensor(orphan, base, sha256(Bytes{1, 2, 3}), 1);  // a base that is nowhere
        // a base of another length (the record is made against a base of its own length, then names the longer one)
        pb.tensor(of_longer, base, sha256(longer_base), 1);
        // two deltas naming each other
        pb.tensor(cyc_a, cyc_b, sha256(cyc_b), 1);
        pb.tensor(cyc_b, cyc_a, sha256(cyc_a), 1);
        pb.done();
    }
    CHECK(kind_of([&] { store.read(sha256(orphan)); }) == ErrorKind::not_found);
    CHECK(kind_of([&] { store.read(sha256(of_longer)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.delta_chain(*store.locate(sha256(of_longer))); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.read(sha256(cyc_a)); }) == ErrorKind::corrupt);
    auto fr = core::fsck(*r.repo, {});
    std::string all;
    for (const auto& p : fr.problems) all += p.what + ": " + p.message + "\n";
    CHECK(all.find(sha256(of_longer).hex()) != std::string::npos);
    CHECK(all.find(sha256(cyc_a).hex()) != std::string::npos);
    CHECK(all.find(sha256(v.back()).hex()) == std::string::npos);
}

TEST_CASE("a fine-tuned model is stored as tensor deltas, far smaller than full chunks; every version reads back",
          "[tensor]") {
    auto history = [](bool tensors, std::vector<Bytes>& files) {
        core::InitOptions o;
        o.chunker.tensors = tensors;
        CoreRepo r(tensors ? "tensor-model" : "tensor-model-plain", o);
        r.repo->config().set("pack.tensor-delta-depth", "16");  // the default (0) stores tensor pieces whole
        r.repo->save_config();
        Bytes emb = fp16_weights(60000, 11), w1 = fp16_weights(100000, 12);
        const Bytes bias(1000, 0);
        std::vector<Hash32> commits;
        std::uint64_t stored = 0;
        files.clear();
        for (std::uint32_t v = 0; v < 4; ++v) {
            if (v) {
                emb = nudge(emb, v);
                w1 = nudge(w1, 100 + v);
            }
            files.push_back(safetensors({{"emb", "F16", emb}, {"w1", "BF16", w1}, {"bias", "F32", bias}}));
            r.write("model.safetensors", files.back());
            auto res = r.commit_result("v" + std::to_string(v));
            commits.push_back(res.id);
            if (v) stored += res.stats.bytes_new_stored;
        }
        std::uint64_t tensor_records = 0;
        for (const auto& p : r.repo->store().packs()) {
            util::Fd fd = util::open_read(r.repo->store().pack_path(p.ref.id));
            for (const auto& e : read_pack_index(fd.get(), "t").entries)
                tensor_records += e.compression == Compression::tensor_delta;
        }
        for (std::size_t i = 0; i < commits.size(); ++i) {
            CHECK(file_bytes(r, commits[i], "model.safetensors") == files[i]);
            auto c = *r.repo->store().read_commit(commits[i]);
            core::StoreObjects so(r.repo->store());
            core::NamedPackObjects named(so, r.repo->store(), c);
            CHECK_NOTHROW(core::check_version(named, c, {}));
        }
        CHECK(core::fsck(*r.repo, {}).problems.empty());
        return std::pair{stored, tensor_records};
    };
    std::vector<Bytes> files;
    auto [tensor_bytes, tensor_records] = history(true, files);
    auto [plain_bytes, plain_records] = history(false, files);
    CHECK(plain_records == 0);
    CHECK(tensor_records > 0);
    // three fine-tune steps: content-defined chunks change everywhere (about 2 bytes of 2 stored per weight, as zstd
    // finds little in fp16 mantissas); tensor deltas store the XOR's low plane and an all-zero high plane
    INFO("tensor " << tensor_bytes << " plain " << plain_bytes);
    CHECK(tensor_bytes * 2 < plain_bytes);
}

TEST_CASE("the commit's chunker line says safetensors; an existing repository re-cuts weight files once when told",
          "[tensor]") {
    Commit c = dvt::test::v2_commit();
    c.chunker = ChunkerParams{4096, 16384, 65536, true};
    Bytes enc = c.encode();
    std::string s(enc.begin(), enc.end());
    CHECK(s.find("\nchunker 4096 16384 65536 safetensors\n") != std::string::npos);
    Commit back = Commit::decode(enc);
    REQUIRE(back.chunker);
    CHECK(back.chunker->tensors);
    CHECK(*back.chunker == *c.chunker);
    for (const char* line : {"chunker 4096 16384 65536 safetensor", "chunker 4096 16384 65536 safetensors ",
                             "chunker 4096 16384 65536  safetensors", "chunker 4096 16384 65536 tensors"}) {
        std::string forged = s;
        forged.replace(forged.find("chunker 4096 16384 65536 safetensors"), 36, line);
        CHECK(kind_of([&] { Commit::decode(Bytes(forged.begin(), forged.end())); }) == ErrorKind::corrupt);
    }

    CoreRepo r("tensor-upgrade");  // made without tensor chunking
    CHECK(!r.repo->chunker_params().tensors);
    Bytes f = safetensors({{"a", "F16", fp16_weights(3000, 1)}, {"b", "F32", fp16_weights(80000, 2)}});
    r.write("m.safetensors", f);
    r.write("notes.txt", "unchanged\n");
    Hash32 c1 = r.commit("1");
    CHECK(!r.repo->store().read_commit(c1)->chunker->tensors);
    CHECK(kind_of([&] { r.commit("again"); }) == ErrorKind::nothing_to_do);
    r.repo->config().set("chunker.tensors", "1");
    r.repo->save_config();
    // nothing changed in the work tree, yet the commit cuts the weight file at its tensors: a new version
    Hash32 c2 = r.commit("tensors on");
    CHECK(r.repo->store().read_commit(c2)->chunker->tensors);
    CHECK(chunk_sizes(r, c2, "m.safetensors") == std::vector<std::uint32_t>{168, 6000, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 12544});
    CHECK(chunk_sizes(r, c1, "m.safetensors") != chunk_sizes(r, c2, "m.safetensors"));
    CHECK(file_bytes(r, c2, "m.safetensors") == f);
    CHECK(kind_of([&] { r.commit("again"); }) == ErrorKind::nothing_to_do);  // and from then on, as before
}

// docs/format.md, "Tensor delta records": tensor chains are capped at pack.tensor-delta-depth; at the cap the new
// delta is against the link at depth cap - 1 (for cap 1 the chain's full chunk), so a version's weights cost at most
// one full copy and `cap` deltas; 0 stores every version's weights whole.
TEST_CASE("pack.tensor-delta-depth caps tensor chains; at the cap a delta is against the link below it",
          "[tensor][delta]") {
    for (int cap : {0, 1, 2}) {
        DYNAMIC_SECTION("pack.tensor-delta-depth " << cap) {
            core::InitOptions o;
            o.chunker.tensors = true;
            CoreRepo r("tensor-cap", o);
            r.repo->config().set("pack.tensor-delta-depth", std::to_string(cap));
            r.repo->save_config();
            CHECK(r.repo->tensor_delta_depth() == cap);
            Bytes w = fp16_weights(100000, 21);  // 200,000 bytes: about twelve 16 KiB pieces
            std::vector<Bytes> files;
            std::vector<Hash32> commits;
            std::uint64_t full_after_v0 = 0, deltas = 0;
            for (std::uint32_t v = 0; v < 5; ++v) {
                if (v) w = nudge(w, 200 + v);
                files.push_back(safetensors({{"w", "F16", w}}));
                r.write("model.safetensors", files.back());
                auto res = r.commit_result("v" + std::to_string(v));
                commits.push_back(res.id);
                if (v) {
                    full_after_v0 += res.stats.chunks_new - res.stats.chunks_delta;
                    deltas += res.stats.chunks_delta;
                }
            }
            std::map<std::uint16_t, std::uint64_t> depths;  // of tensor delta records
            for (const auto& p : r.repo->store().packs()) {
                util::Fd fd = util::open_read(r.repo->store().pack_path(p.ref.id));
                for (const auto& e : read_pack_index(fd.get(), "t").entries)
                    if (e.compression == Compression::tensor_delta) ++depths[e.depth];
            }
            INFO("full chunks after v0 " << full_after_v0 << ", deltas " << deltas);
            if (cap == 0) {
                CHECK(depths.empty());
            } else {
                REQUIRE(!depths.empty());
                CHECK(depths.rbegin()->first == cap);  // reached, never passed
                // the weights' pieces are deltas in every version after v0 (only the header chunk is stored whole)
                CHECK(deltas >= 4 * 3);
                CHECK(full_after_v0 <= 4);
            }
            for (std::size_t i = 0; i < commits.size(); ++i) {
                CHECK(file_bytes(r, commits[i], "model.safetensors") == files[i]);
                auto c = *r.repo->store().read_commit(commits[i]);
                core::StoreObjects so(r.repo->store());
                core::NamedPackObjects named(so, r.repo->store(), c);
                CHECK_NOTHROW(core::check_version(named, c, {}));
            }
            CHECK(core::fsck(*r.repo, {}).problems.empty());
        }
    }
    // never more than pack.delta-depth
    CoreRepo r("tensor-cap-bound");
    r.repo->config().set("pack.tensor-delta-depth", "8");
    r.repo->config().set("pack.delta-depth", "3");
    CHECK(r.repo->tensor_delta_depth() == 3);
}
