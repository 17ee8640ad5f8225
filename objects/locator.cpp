#include "objects/locator.hpp"

#include <algorithm>
#include <tuple>

#include "objects/limits.hpp"
#include "objects/pack.hpp"
#include "objects/stat_cache.hpp"

namespace dvt::objects {

namespace {

constexpr std::uint8_t kLocatorMagic[4] = {'D', 'V', 'T', 'L'};
constexpr std::size_t kExtentSize = 1 + 4 + 8 + 8;

bool valid_dir_path(std::string_view p) {
    if (p.empty()) return true;
    if (p.size() > kMaxPathLength) return false;
    std::size_t start = 0;
    for (;;) {
        auto slash = p.find('/', start);
        auto name = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (!valid_entry_name(name)) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool extent_less(const LocatorExtent& a, const LocatorExtent& b) {
    return std::make_tuple(static_cast<int>(a.type), a.pack, a.offset) <
           std::make_tuple(static_cast<int>(b.type), b.pack, b.offset);
}

// The rules of one directory an encoder and a decoder share; nullptr if it keeps them, else why not.
// `packs`: the PackRef of each of the locator's pack ids (empty: not checked), `count` the number of its pack ids.
const char* dir_problem(const LocatorDir& d, const LocatorDir* prev, const std::vector<PackRef>& packs,
                        std::size_t count) {
    if (!valid_dir_path(d.path)) return "invalid directory path";
    if (prev && !tree_order_less(prev->path, d.path)) return "directories not in tree order or not unique";
    for (std::size_t i = 0; i < d.extents.size(); ++i) {
        const auto& e = d.extents[i];
        if (e.type != ObjectType::chunk && e.type != ObjectType::file && e.type != ObjectType::tree)
            return "unknown extent type";
        if (e.offset < kPackHeaderSize || e.length < kRecordHeaderSize || e.offset > kMaxPackLength ||
            e.length > kMaxPackLength - e.offset)
            return "extent out of range";
        if (e.pack >= count) return "extent names no pack of the locator";
        if (!packs.empty() && e.offset + e.length > packs[e.pack].index_offset)
            return "extent reaches past its pack's records";
        if (i > 0) {
            const auto& p = d.extents[i - 1];
            if (!extent_less(p, e)) return "extents not sorted";
            if (p.type == e.type && p.pack == e.pack && p.offset + p.length > e.offset) return "extents overlap";
        }
    }
    return nullptr;
}

}  // namespace

Bytes Locator::encode() const {
    if (version != 1 && version != 2) throw Error(ErrorKind::internal, "locator version " + std::to_string(version));
    Bytes out{kLocatorMagic[0], kLocatorMagic[1], kLocatorMagic[2], kLocatorMagic[3], version, 0, 0, 0};
    put_u32(out, static_cast<std::uint32_t>(packs.size()));
    for (std::size_t i = 0; i < packs.size(); ++i) {
        if (i > 0 && !(packs[i - 1] < packs[i])) throw Error(ErrorKind::internal, "locator pack ids not sorted");
        put_hash(out, packs[i]);
    }
    put_u32(out, static_cast<std::uint32_t>(dirs.size()));
    const LocatorDir* prev = nullptr;
    for (const auto& d : dirs) {
        if (const char* why = dir_problem(d, prev, {}, packs.size()))
            throw Error(ErrorKind::internal, std::string("locator of '") + d.path + "': " + why);
        prev = &d;
        put_u16(out, static_cast<std::uint16_t>(d.path.size()));
        put_str(out, d.path);
        put_u32(out, static_cast<std::uint32_t>(d.extents.size()));
        for (const auto& e : d.extents) {
            put_u8(out, static_cast<std::uint8_t>(e.type));
            put_u32(out, e.pack);
            put_u64(out, e.offset);
            put_u64(out, e.length);
        }
        if (version == 1) {
            put_u32(out, static_cast<std::uint32_t>(d.delta_ids.size()));
            for (const auto& id : d.delta_ids) put_hash(out, id);
        } else if (!d.delta_ids.empty()) {
            throw Error(ErrorKind::internal, "a version-2 locator lists no delta ids");
        }
    }
    return out;
}

Locator Locator::decode(std::span<const std::uint8_t> b, const std::vector<PackRef>& packs) {
    ByteReader r(b, "locator");
    if (b.size() > kMaxChunkSize) r.fail("larger than a chunk may be");
    auto magic = r.take(8);
    if (!std::equal(std::begin(kLocatorMagic), std::end(kLocatorMagic), magic.begin())) r.fail("bad magic");
    if ((magic[4] != 1 && magic[4] != 2) || magic[5] != 0 || magic[6] != 0 || magic[7] != 0)
        r.fail("unknown locator version " + std::to_string(magic[4]) + "." + std::to_string(magic[5]) + "." +
               std::to_string(magic[6]) + "." + std::to_string(magic[7]));
    Locator l;
    l.version = magic[4];
    std::uint32_t k = r.u32();
    if (k > r.remaining() / 32) r.fail("pack count too large");
    std::vector<PackRef> refs;
    for (std::uint32_t i = 0; i < k; ++i) {
        Hash32 id = r.hash();
        if (!l.packs.empty() && !(l.packs.back() < id)) r.fail("pack ids not sorted or not unique");
        if (!packs.empty()) {
            auto it = std::lower_bound(packs.begin(), packs.end(), id,
                                       [](const PackRef& p, const Hash32& x) { return p.id < x; });
            if (it == packs.end() || it->id != id) r.fail("names pack " + id.hex() + ", which the commit does not");
            refs.push_back(*it);
        }
        l.packs.push_back(id);
    }
    std::uint32_t n = r.u32();
    if (n > r.remaining() / 6) r.fail("directory count too large");  // a dir takes at least 6 bytes
    l.dirs.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        LocatorDir d;
        d.path = std::string(r.str(r.u16()));
        std::uint32_t m = r.u32();
        if (m > r.remaining() / kExtentSize) r.fail("extent count too large");
        d.extents.resize(m);
        for (auto& e : d.extents) {
            std::uint8_t t = r.u8();
            e.type = static_cast<ObjectType>(t);
            e.pack = r.u32();
            e.offset = r.u64();
            e.length = r.u64();
        }
        if (l.version == 1) {
            std::uint32_t nd = r.u32();
            if (nd > r.remaining() / 32) r.fail("delta id count too large");
            d.delta_ids.resize(nd);
            for (auto& id : d.delta_ids) id = r.hash();
        }
        if (const char* why = dir_problem(d, l.dirs.empty() ? nullptr : &l.dirs.back(), refs, l.packs.size()))
            r.fail(std::string(why) + " (directory '" + d.path + "')");
        l.dirs.push_back(std::move(d));
    }
    r.expect_end();
    return l;
}

const LocatorDir* Locator::find(std::string_view path) const {
    auto it = std::lower_bound(dirs.begin(), dirs.end(), path,
                               [](const LocatorDir& d, std::string_view p) { return tree_order_less(d.path, p); });
    return it != dirs.end() && it->path == path ? &*it : nullptr;
}

}  // namespace dvt::objects
