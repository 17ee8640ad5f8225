// The limits of docs/format.md ("Limits", objects/limits.hpp): for each, a value at the limit is accepted and one
// above it is refused as corrupt, by the decoder that reads it, before it allocates for it. Also the zstd frame
// rules of records and the strict numbers of commits (one encoding per commit).
#include <catch2/catch.hpp>

#include <zstd.h>

#include "objects/codec.hpp"
#include "objects/limits.hpp"
#include "objects/object.hpp"
#include "objects/pack.hpp"
#include "objects/torrent_id.hpp"
#include "test_support.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::kind_of;
using dvt::test::v2_commit;
using dvt::test::message_of;

namespace {

Hash32 h(char c) {
    Hash32 x;
    x.bytes.fill(static_cast<std::uint8_t>(c));
    return x;
}

Bytes zstd_frame(const Bytes& raw, bool content_size = true) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
    Bytes out(ZSTD_compressBound(raw.size()));
    std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
    ZSTD_freeCCtx(cctx);
    REQUIRE(!ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::string text_of(const Commit& c) {
    Bytes b = c.encode();
    return {b.begin(), b.end()};
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

// `good` with the first occurrence of `from` replaced by `to`.
Bytes edited(const std::string& good, const std::string& from, const std::string& to) {
    std::string s = good;
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return bytes_of(s);
}

// A pack footer claiming `count` entries at `index_offset` (the index itself is not supplied).
Bytes footer(std::uint64_t index_offset, std::uint64_t count) {
    Bytes f;
    put_str(f, std::string("DVTPIDX\0", 8));
    put_u64(f, index_offset);
    put_u64(f, count);
    put_u32(f, kPackVersion);
    put_u32(f, 0);
    put_hash(f, Hash32{});
    return f;
}

// An index of one entry plus its footer, for a pack of `length` bytes whose index starts at length - 52 - 64.
Bytes one_entry_index(std::uint64_t length, std::uint8_t type, std::uint32_t raw, std::uint32_t stored,
                      std::uint64_t offset = 16) {
    Bytes idx;
    put_hash(idx, h('x'));
    put_u64(idx, offset);
    put_u32(idx, stored);
    put_u32(idx, raw);
    put_u8(idx, type);
    put_u8(idx, 0);
    put_u16(idx, 0);
    Bytes f;
    put_str(f, std::string("DVTPIDX\0", 8));
    put_u64(f, length - 52 - 64);
    put_u64(f, 1);
    put_u32(f, kPackVersion);
    put_u32(f, 0);
    put_hash(f, sha256(idx));
    idx.insert(idx.end(), f.begin(), f.end());
    return idx;
}

}  // namespace

TEST_CASE("limits: a record's raw length is checked before anything is allocated or decompressed", "[limits]") {
    Bytes out;
    // at the limit: 64 MiB of zeros in a small zstd frame decode
    Bytes big(kMaxRecordSize, 0);
    Bytes frame = zstd_frame(big);
    big = {};
    decode_record(frame, Compression::zstd, kMaxRecordSize, out, "t");
    CHECK(out.size() == kMaxRecordSize);
    out = {};
    // one above: refused without a buffer of that size (4 GiB claimed by 1 KB is the same check)
    CHECK(kind_of([&] { decode_record(frame, Compression::zstd, kMaxRecordSize + 1, out, "t"); }) == ErrorKind::corrupt);
    CHECK(out.empty());
    Bytes kb(1000, 7);
    CHECK(kind_of([&] { decode_record(kb, Compression::zstd, 0xffffffffu, out, "t"); }) == ErrorKind::corrupt);
    CHECK(out.empty());
    CHECK(kind_of([&] { decode_record(kb, Compression::none, 0xffffffffu, out, "t"); }) == ErrorKind::corrupt);
    CHECK(out.empty());
}

TEST_CASE("limits: a zstd record is one frame stating its raw length; stored never exceeds raw", "[limits]") {
    Bytes raw(100000, 'a');
    Bytes frame = zstd_frame(raw);
    Bytes out;
    decode_record(frame, Compression::zstd, 100000, out, "t");
    CHECK(out == raw);
    // a frame whose content size differs from raw_len (bigger or smaller): refused before decompressing
    CHECK(kind_of([&] { decode_record(frame, Compression::zstd, 99999, out, "t"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { decode_record(frame, Compression::zstd, 100001, out, "t"); }) == ErrorKind::corrupt);
    // no content size in the frame header
    Bytes unsized = zstd_frame(raw, false);
    CHECK(kind_of([&] { decode_record(unsized, Compression::zstd, 100000, out, "t"); }) == ErrorKind::corrupt);
    // two frames, or trailing bytes after the frame
    Bytes half(50000, 'a');
    Bytes two = zstd_frame(half);
    Bytes second = zstd_frame(half);
    two.insert(two.end(), second.begin(), second.end());
    CHECK(kind_of([&] { decode_record(two, Compression::zstd, 50000, out, "t"); }) == ErrorKind::corrupt);
    Bytes trailing = frame;
    trailing.push_back(0);
    CHECK(kind_of([&] { decode_record(trailing, Compression::zstd, 100000, out, "t"); }) == ErrorKind::corrupt);
    // stored longer than raw (a raw record of 5 stored in 6 bytes, or a zstd frame larger than its content)
    Bytes six(6, 1);
    CHECK(kind_of([&] { decode_record(six, Compression::none, 5, out, "t"); }) == ErrorKind::corrupt);
    Bytes tiny = zstd_frame(Bytes{1, 2, 3});
    REQUIRE(tiny.size() > 3);
    CHECK(kind_of([&] { decode_record(tiny, Compression::zstd, 3, out, "t"); }) == ErrorKind::corrupt);
}

TEST_CASE("limits: pack index entries (chunk and record sizes, unknown record types, stored > raw)", "[limits]") {
    const std::uint64_t len = 16 + (kMaxRecordSize + 12) + 52 + 64;
    auto parse = [&](std::uint8_t type, std::uint32_t raw, std::uint32_t stored) {
        Bytes tail = one_entry_index(len, type, raw, stored);
        return parse_pack_index(tail, len, "test pack");
    };
    CHECK(parse(1, kMaxChunkSize, kMaxChunkSize).entries.at(0).raw_len == kMaxChunkSize);
    CHECK(kind_of([&] { parse(1, kMaxChunkSize + 1, 100); }) == ErrorKind::corrupt);
    CHECK(parse(3, kMaxRecordSize, kMaxRecordSize).entries.at(0).raw_len == kMaxRecordSize);
    CHECK(parse(2, kMaxRecordSize, 10).entries.at(0).type == ObjectType::file);
    CHECK(kind_of([&] { parse(2, kMaxRecordSize + 1, 10); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { parse(3, 10, 11); }) == ErrorKind::corrupt);  // stored > raw
    // record types: 1..3 known; 4 (commit: never in a pack), 5 and 0 unknown (a later format adds types)
    CHECK(kind_of([&] { parse(4, 10, 10); }) == ErrorKind::corrupt);
    CHECK(message_of([&] { parse(5, 10, 10); }).find("unknown record type 5") != std::string::npos);
    CHECK(kind_of([&] { parse(0, 10, 10); }) == ErrorKind::corrupt);
    // the same checks guard readers that size a buffer from an index row (the index database is only a cache)
    PackEntry e{h('x'), 16, 20, kMaxChunkSize + 1, ObjectType::chunk, Compression::zstd};
    Bytes out;
    CHECK(kind_of([&] { read_record(-1, e, out, "t"); }) == ErrorKind::corrupt);
    e.raw_len = 10;  // stored 20 > raw 10
    CHECK(kind_of([&] { read_record(-1, e, out, "t"); }) == ErrorKind::corrupt);
}

TEST_CASE("limits: pack length and objects per pack; offsets that would wrap around are corrupt", "[limits]") {
    // objects per pack: a footer claiming one more than the limit is refused before the index is looked at
    std::uint64_t over = kMaxPackObjects + 1;
    Bytes f = footer(16, over);
    CHECK(message_of([&] { parse_pack_index(f, 16 + 52 * over + 64, "p"); }).find("exceed the limit") !=
          std::string::npos);
    CHECK(kind_of([&] { parse_pack_index(f, 16 + 52 * over + 64, "p"); }) == ErrorKind::corrupt);
    // at the limit the count is accepted (and the check goes on to the index, which this test does not supply)
    Bytes g = footer(16, kMaxPackObjects);
    CHECK(message_of([&] { parse_pack_index(g, 16 + 52 * kMaxPackObjects + 64, "p"); }).find("index not supplied") !=
          std::string::npos);
    // pack length: 2^34 is accepted, one more or 2^40 is corrupt (not internal)
    const std::uint64_t at = kMaxPackLength;
    CHECK(parse_pack_index(one_entry_index(at, 1, 100, 100), at, "p").length == at);
    CHECK(kind_of([&] { parse_pack_index(one_entry_index(at + 1, 1, 100, 100), at + 1, "p"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { parse_pack_index(one_entry_index(1ull << 40, 1, 100, 100), 1ull << 40, "p"); }) ==
          ErrorKind::corrupt);
    // an index offset near 2^64 that would make `offset + 52 * count + 64` wrap to the pack length
    std::uint64_t len = 1000;
    std::uint64_t wrap_offset = std::uint64_t(0) - 52 - 64 + len;  // + 52 + 64 wraps to len
    Bytes w = footer(wrap_offset, 1);
    Bytes tail(52, 0);
    tail.insert(tail.end(), w.begin(), w.end());
    CHECK(kind_of([&] { parse_pack_index(tail, len, "p"); }) == ErrorKind::corrupt);
    // a record whose offset + length would wrap
    Bytes r = one_entry_index(len, 1, 10, 10, std::uint64_t(0) - 5);
    CHECK(kind_of([&] { parse_pack_index(r, len, "p"); }) == ErrorKind::corrupt);
}

TEST_CASE("limits: chunks per file object and chunk size", "[limits]") {
    FileObject f;
    f.chunks = {{h('a'), kMaxChunkSize}, {h('b'), 1}};
    f.size = kMaxChunkSize + 1ull;
    CHECK(FileObject::decode(f.encode()).chunks.size() == 2);
    f.chunks[0].size = kMaxChunkSize + 1;
    f.size += 1;
    CHECK(kind_of([&] { FileObject::decode(f.encode()); }) == ErrorKind::corrupt);
    // the chunk count at the limit decodes; one more is refused on the count alone
    FileObject many;
    many.chunks.assign(kMaxFileChunks, ChunkRef{h('c'), 1});
    many.size = kMaxFileChunks;
    Bytes enc = many.encode();
    CHECK(enc.size() <= kMaxRecordSize);
    CHECK(FileObject::decode(enc).chunks.size() == kMaxFileChunks);
    Bytes head(enc.begin(), enc.begin() + 20);
    std::uint32_t n = kMaxFileChunks + 1;
    std::memcpy(head.data() + 16, &n, 4);
    CHECK(message_of([&] { FileObject::decode(head); }).find("exceed the limit") != std::string::npos);
}

TEST_CASE("limits: entries per tree", "[limits]") {
    Tree t;
    t.entries.reserve(kMaxTreeEntries);
    char name[16];
    for (std::uint32_t i = 0; i < kMaxTreeEntries; ++i) {
        std::snprintf(name, sizeof name, "%07u", i);
        t.entries.push_back(TreeEntry{name, EntryKind::file, 1, h('f'), {}});
    }
    Bytes enc = t.encode();
    CHECK(enc.size() <= kMaxRecordSize);
    CHECK(Tree::decode(enc).entries.size() == kMaxTreeEntries);
    Bytes head(enc.begin(), enc.begin() + 12);
    std::uint32_t n = kMaxTreeEntries + 1;
    std::memcpy(head.data() + 8, &n, 4);
    CHECK(message_of([&] { Tree::decode(head); }).find("exceed the limit") != std::string::npos);
}

TEST_CASE("commits have one encoding: times and zones without sign tricks or leading zeros", "[encoding][limits]") {
    Commit c = v2_commit();
    std::string good = text_of(c);
    std::string t = "1700000000 +0000";
    for (std::string bad : {"-0 +0000", "+1700000000 +0000", "01700000000 +0000", "-01 +0000", "1700000000 -0000",
                            "1700000000 +0060", "1700000000 +00a0", "1700000000 +000", "9223372036854775808 +0000",
                            "-9223372036854775809 +0000", "18446744073709551615 +0000", "1700000000  +0000"})
        CHECK(kind_of([&] { Commit::decode(edited(good, t, bad)); }) == ErrorKind::corrupt);
    for (std::string ok : {"0 +0000", "-5 +0100", "9223372036854775807 -1259", "-9223372036854775808 +9959"}) {
        Bytes b = edited(good, t, ok);
        Commit d = Commit::decode(b);
        CHECK(d.encode() == b);
    }
    CHECK(Commit::decode(edited(good, t, "-9223372036854775808 +0000")).time == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("limits: commit size, parents, packs, files and pack lines", "[limits]") {
    Commit c = v2_commit();
    std::string good = text_of(c);
    // files
    CHECK(Commit::decode(edited(good, "files 1\n", "files " + std::to_string(kMaxVersionEntries) + "\n")).files ==
          kMaxVersionEntries);
    CHECK(kind_of([&] { Commit::decode(edited(good, "files 1\n", "files " + std::to_string(kMaxVersionEntries + 1) + "\n")); }) ==
          ErrorKind::corrupt);
    // pack lines: length up to 2^34; 2^40 and more corrupt (never internal); index offset inside the pack
    auto pack_line = [&](std::uint64_t len, std::uint64_t off) {
        return edited(good, "4096 4000\n", std::to_string(len) + " " + std::to_string(off) + "\n");
    };
    CHECK(Commit::decode(pack_line(kMaxPackLength, kMaxPackLength - 64)).packs.at(0).length == kMaxPackLength);
    CHECK(kind_of([&] { Commit::decode(pack_line(kMaxPackLength + 1, 16)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { Commit::decode(pack_line(1ull << 40, 16)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { Commit::decode(pack_line(18446744073709551615ull, 16)); }) == ErrorKind::corrupt);
    CHECK(Commit::decode(pack_line(80, 16)).packs.at(0).index_offset == 16);
    CHECK(kind_of([&] { Commit::decode(pack_line(79, 15)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { Commit::decode(pack_line(4096, 4033)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { Commit::decode(pack_line(4096, 15)); }) == ErrorKind::corrupt);
    // parents
    Commit p = c;
    for (std::size_t i = 0; i < kMaxCommitParents; ++i) {
        Hash32 x;
        std::memcpy(x.bytes.data(), &i, sizeof i);
        p.parents.push_back(x);
    }
    CHECK(Commit::decode(p.encode()).parents.size() == kMaxCommitParents);
    p.parents.push_back(h('z'));
    CHECK(message_of([&] { Commit::decode(p.encode()); }).find("parents") != std::string::npos);
    // packs: the limit decodes (and fits the commit size limit); one more is refused
    Commit k = c;
    k.packs.clear();
    for (std::size_t i = 0; i < kMaxCommitPacks; ++i) {
        Hash32 x;
        std::uint64_t be = __builtin_bswap64(i);  // big-endian: sorted as the ids must be
        std::memcpy(x.bytes.data(), &be, 8);
        k.packs.push_back(PackRef{x, kMaxPackLength, kMaxPackLength - 64});
    }
    Bytes kb = k.encode();
    CHECK(kb.size() <= kMaxCommitSize);
    CHECK(Commit::decode(kb).packs.size() == kMaxCommitPacks);
    k.packs.push_back(PackRef{h('\xff'), 4096, 4000});
    CHECK(message_of([&] { Commit::decode(k.encode()); }).find("packs") != std::string::npos);
    // the commit file: a message that makes it one byte over the limit
    Commit m = c;
    m.message.assign(kMaxCommitSize - (good.size() - c.message.size()), 'x');
    Bytes mb = m.encode();
    CHECK(mb.size() == kMaxCommitSize);
    CHECK(Commit::decode(mb).message.size() == m.message.size());
    m.message.push_back('x');
    CHECK(kind_of([&] { Commit::decode(m.encode()); }) == ErrorKind::corrupt);
}
