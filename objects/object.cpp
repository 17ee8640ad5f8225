#include "objects/object.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "objects/limits.hpp"

namespace dvt::objects {

const char* type_name(ObjectType t) {
    switch (t) {
    case ObjectType::chunk: return "chunk";
    case ObjectType::file: return "file";
    case ObjectType::tree: return "tree";
    case ObjectType::commit: return "commit";
    }
    return "unknown";
}

const char* kind_name(EntryKind k) {
    switch (k) {
    case EntryKind::file: return "file";
    case EntryKind::executable: return "exec";
    case EntryKind::symlink: return "link";
    case EntryKind::directory: return "tree";
    }
    return "unknown";
}

static constexpr std::uint8_t kFileMagic[8] = {'D', 'V', 'T', 'F', 1, 0, 0, 0};
static constexpr std::uint8_t kTreeMagic[8] = {'D', 'V', 'T', 'T', 1, 0, 0, 0};

static void expect_magic(ByteReader& r, const std::uint8_t (&magic)[8], const char* what) {
    auto m = r.take(8);
    if (std::memcmp(m.data(), magic, 4) != 0) r.fail(std::string("not a ") + what + " object");
    if (m[4] != 1) throw Error(ErrorKind::unsupported, std::string(what) + " object format version " +
                                                           std::to_string(m[4]) + " is not supported by this dvt");
    if (m[5] || m[6] || m[7]) r.fail("reserved bytes are not zero");
}

Bytes FileObject::encode() const {
    Bytes out;
    out.reserve(20 + chunks.size() * 36);
    put_bytes(out, kFileMagic, 8);
    put_u64(out, size);
    put_u32(out, static_cast<std::uint32_t>(chunks.size()));
    for (const auto& c : chunks) {
        put_hash(out, c.id);
        put_u32(out, c.size);
    }
    return out;
}

FileObject FileObject::decode(std::span<const std::uint8_t> b) {
    ByteReader r(b, "file object");
    expect_magic(r, kFileMagic, "file");
    FileObject f;
    f.size = r.u64();
    std::uint32_t n = r.u32();
    if (n > kMaxFileChunks) r.fail(std::to_string(n) + " chunks exceed the limit of " + std::to_string(kMaxFileChunks));
    if (static_cast<std::uint64_t>(n) * 36 != r.remaining()) r.fail("chunk count does not match length");
    f.chunks.resize(n);
    std::uint64_t sum = 0;
    for (auto& c : f.chunks) {
        c.id = r.hash();
        c.size = r.u32();
        if (c.size == 0) r.fail("empty chunk");
        if (c.size > kMaxChunkSize) r.fail("chunk of " + std::to_string(c.size) + " bytes exceeds the chunk size limit");
        sum += c.size;
    }
    if (sum != f.size) r.fail("chunk sizes do not add up to the file size");
    return f;
}

bool valid_entry_name(std::string_view name) {
    if (name.empty() || name.size() > 1024 || name == "." || name == ".." || name == ".dvt" || name == ".git")
        return false;
    return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

Bytes Tree::encode() const {
    Bytes out;
    put_bytes(out, kTreeMagic, 8);
    put_u32(out, static_cast<std::uint32_t>(entries.size()));
    const std::string* prev = nullptr;
    for (const auto& e : entries) {
        if (!valid_entry_name(e.name)) throw Error(ErrorKind::corrupt, "invalid tree entry name '" + e.name + "'");
        if (prev && !(*prev < e.name)) throw Error(ErrorKind::internal, "tree entries not sorted: " + e.name);
        prev = &e.name;
        put_u8(out, static_cast<std::uint8_t>(e.kind));
        put_u16(out, static_cast<std::uint16_t>(e.name.size()));
        put_str(out, e.name);
        if (e.kind == EntryKind::symlink) {
            put_u64(out, e.target.size());
            put_str(out, e.target);
        } else {
            put_u64(out, e.size);
            put_hash(out, e.id);
        }
    }
    return out;
}

Tree Tree::decode(std::span<const std::uint8_t> b) {
    ByteReader r(b, "tree object");
    expect_magic(r, kTreeMagic, "tree");
    Tree t;
    std::uint32_t n = r.u32();
    if (n > kMaxTreeEntries) r.fail(std::to_string(n) + " entries exceed the limit of " + std::to_string(kMaxTreeEntries));
    if (n > r.remaining() / 12) r.fail("entry count too large");
    t.entries.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& e = t.entries[i];
        std::uint8_t k = r.u8();
        if (k < 1 || k > 4) r.fail("unknown entry kind " + std::to_string(k));
        e.kind = static_cast<EntryKind>(k);
        e.name = std::string(r.str(r.u16()));
        if (!valid_entry_name(e.name)) r.fail("invalid entry name '" + e.name + "'");
        if (i > 0 && !(t.entries[i - 1].name < e.name)) r.fail("entries not sorted or not unique");
        e.size = r.u64();
        if (e.kind == EntryKind::symlink) {
            if (e.size == 0 || e.size > 4096) r.fail("bad symlink target length");
            e.target = std::string(r.str(static_cast<std::size_t>(e.size)));
            if (e.target.find('\0') != std::string::npos) r.fail("NUL in symlink target");
        } else {
            e.id = r.hash();
        }
    }
    r.expect_end();
    return t;
}

const TreeEntry* Tree::find(std::string_view name) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), name,
                               [](const TreeEntry& e, std::string_view n) { return e.name < n; });
    return (it != entries.end() && it->name == name) ? &*it : nullptr;
}

// ---------------------------------------------------------------------------------------------------- commit text

static bool clean_field(std::string_view s) {
    for (char c : s)
        if (c == '\n' || c == '<' || c == '>' || c == '\0') return false;
    return true;
}

static std::string tz_string(int minutes) {
    char buf[8];
    int a = minutes < 0 ? -minutes : minutes;
    std::snprintf(buf, sizeof buf, "%c%02d%02d", minutes < 0 ? '-' : '+', a / 60 % 100, a % 60);
    return buf;
}

Bytes Commit::encode() const {
    if (!clean_field(author_name) || !clean_field(author_email))
        throw Error(ErrorKind::usage, "author name and email must not contain '<', '>' or newlines");
    if (format < kCommitFormatMin || format > kCommitFormat || chunker.has_value() != (format >= 2))
        throw Error(ErrorKind::internal, "commit format " + std::to_string(format) + " with" +
                                             (chunker ? "" : "out") + " chunker parameters");
    for (std::size_t i = 1; i < packs.size(); ++i)
        if (!(packs[i - 1].id < packs[i].id)) throw Error(ErrorKind::internal, "commit pack list not sorted");
    std::string s = "dvt-commit " + std::to_string(format) + "\n";
    s += "tree " + tree.hex() + "\n";
    for (const auto& p : parents) s += "parent " + p.hex() + "\n";
    s += "author " + author_name + " <" + author_email + "> " + std::to_string(time) + " " +
         tz_string(tz_offset_minutes) + "\n";
    s += "files " + std::to_string(files) + "\n";
    s += "bytes " + std::to_string(bytes) + "\n";
    if (chunker)
        s += "chunker " + std::to_string(chunker->min_size) + " " + std::to_string(chunker->avg_size) + " " +
             std::to_string(chunker->max_size) + (chunker->tensors ? " safetensors" : "") + "\n";
    if (git_commit) s += "git-commit " + *git_commit + "\n";
    if (git_dirty) s += std::string("git-dirty ") + (*git_dirty ? "1" : "0") + "\n";
    if (locator) {
        if (format < 2) throw Error(ErrorKind::internal, "a format-1 commit cannot name a locator");
        s += "locator " + locator->id.hex() + " " + locator->pack.hex() + "\n";
    }
    for (const auto& p : packs)
        s += "pack " + p.id.hex() + " " + std::to_string(p.length) + " " + std::to_string(p.index_offset) + "\n";
    s += "\n";
    s += message;
    return Bytes(s.begin(), s.end());
}

namespace {
struct LineReader {
    std::string_view text;
    std::size_t pos = 0;
    std::optional<std::string_view> line() {
        if (pos >= text.size()) return std::nullopt;
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) return std::nullopt;
        auto l = text.substr(pos, nl - pos);
        pos = nl + 1;
        return l;
    }
};

[[noreturn]] void bad_commit(const std::string& why) { throw Error(ErrorKind::corrupt, "commit object: " + why); }

// Decimal without sign or leading zeros ("0" itself is fine).
std::uint64_t parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty() || (s.size() > 1 && s[0] == '0')) bad_commit("malformed number '" + std::string(s) + "'");
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) bad_commit("malformed number '" + std::string(s) + "'");
    return v;
}

// A signed decimal with one spelling per value: no '+', no leading zeros, no "-0".
std::int64_t parse_i64(std::string_view s) {
    bool neg = !s.empty() && s[0] == '-';
    std::uint64_t m = parse_u64(neg ? s.substr(1) : s);
    constexpr std::uint64_t kMaxPos = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if ((neg && (m == 0 || m > kMaxPos + 1)) || (!neg && m > kMaxPos))
        bad_commit("malformed number '" + std::string(s) + "'");
    if (!neg) return static_cast<std::int64_t>(m);
    return m == kMaxPos + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(m);
}

Hash32 parse_id(std::string_view s) {
    auto h = Hash32::from_hex(s);
    if (!h || !is_hex(s) || std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'F'; }))
        bad_commit("malformed id '" + std::string(s) + "'");
    return *h;
}

std::pair<std::string_view, std::string_view> split_header(std::string_view line) {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) bad_commit("malformed header line '" + std::string(line) + "'");
    return {line.substr(0, sp), line.substr(sp + 1)};
}

// Splits "a b c" into exactly `n` fields separated by single spaces.
std::vector<std::string_view> fields(std::string_view v, std::size_t n, const char* what) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (out.size() + 1 < n) {
        auto sp = v.find(' ', start);
        if (sp == std::string_view::npos) bad_commit(std::string("malformed ") + what + " line");
        out.push_back(v.substr(start, sp - start));
        start = sp + 1;
    }
    out.push_back(v.substr(start));
    if (out.back().find(' ') != std::string_view::npos) bad_commit(std::string("malformed ") + what + " line");
    return out;
}
}  // namespace

Commit Commit::decode(std::span<const std::uint8_t> b) {
    if (b.size() > kMaxCommitSize)
        bad_commit(std::to_string(b.size()) + " bytes exceed the limit of " + std::to_string(kMaxCommitSize));
    std::string_view text(reinterpret_cast<const char*>(b.data()), b.size());
    LineReader lr{text};
    auto first = lr.line();
    if (!first || first->substr(0, 11) != "dvt-commit ") bad_commit("missing 'dvt-commit' header");
    Commit c;
    c.chunker.reset();  // format 2 sets it below
    if (*first == "dvt-commit 1")
        c.format = 1;
    else if (*first == "dvt-commit 2")
        c.format = 2;
    else
        throw Error(ErrorKind::unsupported, "commit format '" + std::string(*first) + "' is not supported by this dvt");
    auto l = lr.line();
    if (!l) bad_commit("truncated");
    auto [k, v] = split_header(*l);
    if (k != "tree") bad_commit("missing tree");
    c.tree = parse_id(v);
    l = lr.line();
    while (l && l->starts_with("parent ")) {
        if (c.parents.size() == kMaxCommitParents)
            bad_commit("more than " + std::to_string(kMaxCommitParents) + " parents");
        c.parents.push_back(parse_id(l->substr(7)));
        l = lr.line();
    }
    if (!l || !l->starts_with("author ")) bad_commit("missing author");
    {
        auto a = l->substr(7);
        auto lt = a.find(" <"), gt = a.rfind("> ");
        if (lt == std::string_view::npos || gt == std::string_view::npos || gt < lt) bad_commit("malformed author");
        c.author_name = std::string(a.substr(0, lt));
        c.author_email = std::string(a.substr(lt + 2, gt - lt - 2));
        if (!clean_field(c.author_name) || !clean_field(c.author_email)) bad_commit("malformed author");
        auto rest = a.substr(gt + 2);
        auto sp = rest.find(' ');
        if (sp == std::string_view::npos) bad_commit("malformed author time");
        c.time = parse_i64(rest.substr(0, sp));
        auto tz = rest.substr(sp + 1);
        if (tz.size() != 5 || (tz[0] != '+' && tz[0] != '-') ||
            !std::all_of(tz.begin() + 1, tz.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
            bad_commit("malformed time zone");
        int hh = (tz[1] - '0') * 10 + (tz[2] - '0'), mm = (tz[3] - '0') * 10 + (tz[4] - '0');
        c.tz_offset_minutes = (tz[0] == '-' ? -1 : 1) * (hh * 60 + mm);
        if (tz_string(c.tz_offset_minutes) != tz) bad_commit("malformed time zone");
    }
    l = lr.line();
    if (!l || !l->starts_with("files ")) bad_commit("missing files");
    c.files = parse_u64(l->substr(6));
    if (c.files > kMaxVersionEntries)
        bad_commit(std::to_string(c.files) + " files exceed the limit of " + std::to_string(kMaxVersionEntries));
    l = lr.line();
    if (!l || !l->starts_with("bytes ")) bad_commit("missing bytes");
    c.bytes = parse_u64(l->substr(6));
    l = lr.line();
    if (c.format >= 2) {
        if (!l || !l->starts_with("chunker ")) bad_commit("missing chunker");
        std::string_view cl = l->substr(8);
        constexpr std::string_view kTensors = " safetensors";  // tensor-aware chunking (docs/format.md, "Chunking")
        bool tensors = cl.ends_with(kTensors);
        if (tensors) cl.remove_suffix(kTensors.size());
        auto f = fields(cl, 3, "chunker");
        std::uint64_t v3[3];
        for (int i = 0; i < 3; ++i) {
            v3[i] = parse_u64(f[static_cast<std::size_t>(i)]);
            if (v3[i] > kMaxChunkSize) bad_commit("chunker parameter out of range");
        }
        ChunkerParams p{static_cast<std::uint32_t>(v3[0]), static_cast<std::uint32_t>(v3[1]),
                        static_cast<std::uint32_t>(v3[2]), tensors};
        try {
            p.validate();
        } catch (const Error& e) {
            bad_commit(std::string("invalid chunker: ") + e.what());
        }
        c.chunker = p;
        l = lr.line();
    }
    if (l && l->starts_with("git-commit ")) {
        auto g = l->substr(11);
        if ((g.size() != 40 && g.size() != 64) || !is_hex(g)) bad_commit("malformed git-commit");
        c.git_commit = std::string(g);
        l = lr.line();
    }
    if (l && l->starts_with("git-dirty ")) {
        auto g = l->substr(10);
        if (g != "0" && g != "1") bad_commit("malformed git-dirty");
        c.git_dirty = g == "1";
        l = lr.line();
    }
    if (c.format >= 2 && l && l->starts_with("locator ")) {
        auto f = fields(l->substr(8), 2, "locator");
        c.locator = LocatorRef{parse_id(f[0]), parse_id(f[1])};
        l = lr.line();
    }
    while (l && l->starts_with("pack ")) {
        if (c.packs.size() == kMaxCommitPacks) bad_commit("more than " + std::to_string(kMaxCommitPacks) + " packs");
        auto f = fields(l->substr(5), 3, "pack");
        PackRef p{parse_id(f[0]), parse_u64(f[1]), parse_u64(f[2])};
        if (!c.packs.empty() && !(c.packs.back().id < p.id)) bad_commit("pack list not sorted");
        // the sizes a pack can have (objects/pack.hpp): header 16 bytes, footer 64, at most kMaxPackLength in all
        if (p.length > kMaxPackLength)
            bad_commit("pack length " + std::to_string(p.length) + " exceeds the limit of " +
                       std::to_string(kMaxPackLength));
        if (p.length < 80 || p.index_offset < 16 || p.index_offset > p.length - 64)
            bad_commit("pack index offset out of range");
        c.packs.push_back(p);
        l = lr.line();
    }
    if (!l) bad_commit("truncated");
    if (!l->empty()) bad_commit("unknown header '" + std::string(split_header(*l).first) + "'");
    if (c.locator && !std::binary_search(c.packs.begin(), c.packs.end(), PackRef{c.locator->pack, 0, 0},
                                         [](const PackRef& x, const PackRef& y) { return x.id < y.id; }))
        bad_commit("the locator's pack is not among the commit's packs");
    c.message = std::string(text.substr(lr.pos));
    // one encoding per commit: whatever the checks above let through must re-encode to the same bytes
    Bytes again = c.encode();
    if (again.size() != b.size() || !std::equal(again.begin(), again.end(), b.begin()))
        bad_commit("not in canonical form");
    return c;
}

}  // namespace dvt::objects
