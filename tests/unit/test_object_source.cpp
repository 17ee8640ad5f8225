// The object-source seam (objects/object_source.hpp): a read of an object the store lacks asks the plugged-in source,
// which installs verified data through the store; without a source, or when the source cannot deliver, the read is
// not_found; a source that installs wrong bytes under an id never gets them past verification.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <vector>

#include "core/repository.hpp"
#include "objects/object_source.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::pseudo_random;
using dvt::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A source that holds some chunks in memory and, when asked, writes the requested ones into a pack in partial/ and
// hands it to the store (as a swarm source would after verifying what arrived). `lie` stores other bytes under the id.
class MemorySource : public ObjectSource {
public:
    MemorySource(ObjectStore& store, std::vector<Bytes> chunks, bool lie = false)
        : m_store(store), m_chunks(std::move(chunks)), m_lie(lie) {}
    void fetch(const std::vector<Hash32>& ids) override {
        calls.push_back(ids);
        fs::create_directories(m_store.partial_dir());
        PackWriter w(m_store.tmp_dir(), m_store.partial_dir());
        bool any = false;
        for (const auto& id : ids)
            for (const auto& c : m_chunks)
                if (sha256(c) == id) {
                    Bytes bytes = m_lie ? pseudo_random(c.size(), 99) : c;
                    w.append(ObjectType::chunk, id, Compression::none, static_cast<std::uint32_t>(bytes.size()), bytes);
                    any = true;
                }
        if (!any) return;
        std::vector<SealedPack> packs{w.seal()};
        m_store.install_packs(packs);
    }
    std::vector<std::vector<Hash32>> calls;

private:
    ObjectStore& m_store;
    std::vector<Bytes> m_chunks;
    bool m_lie;
};

ErrorKind kind_of_read(const ObjectStore& s, const Hash32& id) {
    try {
        s.read(id);
    } catch (const Error& e) {
        return e.kind();
    }
    return ErrorKind::internal;  // no error at all
}

}  // namespace

TEST_CASE("a read of a missing object asks the plugged-in source, which installs through the store", "[store]") {
    TempDir t("source");
    auto repo = core::Repository::init(t.path / "r", core::InitOptions{});
    auto& store = repo->store();
    std::vector<Bytes> chunks{pseudo_random(20000, 1), pseudo_random(30000, 2), pseudo_random(100, 3)};
    Hash32 a = sha256(chunks[0]), b = sha256(chunks[1]), c = sha256(chunks[2]);

    CHECK(kind_of_read(store, a) == ErrorKind::not_found);  // no source: this store only

    auto src = std::make_shared<MemorySource>(store, std::vector<Bytes>{chunks[0], chunks[1]});
    store.set_source(src);
    CHECK(store.read(a) == chunks[0]);
    REQUIRE(src->calls.size() == 1);
    CHECK(src->calls[0] == std::vector<Hash32>{a});
    CHECK(store.read(a) == chunks[0]);  // now local: the source is not asked again
    CHECK(src->calls.size() == 1);

    store.ensure({a, b});  // one call for what is missing only
    REQUIRE(src->calls.size() == 2);
    CHECK(src->calls[1] == std::vector<Hash32>{b});
    CHECK(store.read(b) == chunks[1]);

    CHECK(kind_of_read(store, c) == ErrorKind::not_found);  // the source does not have it
    CHECK_THROWS_AS(store.ensure({c}), Error);

    store.set_source(nullptr);
    CHECK(store.read(b) == chunks[1]);  // what the source delivered stays
}

TEST_CASE("bytes a lying source installs under an id fail verification when read", "[store]") {
    TempDir t("source-lie");
    auto repo = core::Repository::init(t.path / "r", core::InitOptions{});
    auto& store = repo->store();
    Bytes chunk = pseudo_random(5000, 7);
    store.set_source(std::make_shared<MemorySource>(store, std::vector<Bytes>{chunk}, true));
    CHECK(kind_of_read(store, sha256(chunk)) == ErrorKind::corrupt);
}
