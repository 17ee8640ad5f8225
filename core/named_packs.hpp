// What a version must be in this repository, beyond the format's rules (core/version.hpp), before a pull stores it
// (docs/transport.md, "Pulling", step 5) or `fsck --repair` keeps it (docs/cli.md, `dvt fsck`): every tree, file
// object and chunk it reaches lies in a pack the commit names (what a peer fetching the commit alone can get), and
// every name is one a file system can hold. checkout checks the names it creates with check_path_fits().
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/version.hpp"
#include "objects/object.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"

namespace dvt::core {

// The longest name (one path component) a checkout creates: Linux's NAME_MAX. (Paths: objects::kMaxPathLength.)
constexpr std::size_t kMaxNameBytes = 255;

// Throws ErrorKind::corrupt when a component of the repository-relative `path` is longer than kMaxNameBytes or the
// path longer than objects::kMaxPathLength: no file system could hold it (a version naming it is refused, not half
// checked out).
void check_path_fits(std::string_view path);

// The objects of a version as `inner` reads them, restricted to the packs commit `c` names:
//  - the packs' indexes come from `received` (packs verified by a pull, not installed yet) or from the pack files
//    here (complete, or partial: then only the objects fetched into it are present); a named pack that is not here
//    at all is ErrorKind::not_found at construction, one whose length or index offset differs is corrupt;
//  - a tree, file object or chunk in none of them is corrupt ("lies in no pack the commit names");
//  - every tree read is also checked for names longer than kMaxNameBytes and symlink targets longer than
//    objects::kMaxPathLength (corrupt);
//  - an object may lie in several named packs (a re-pack copies it; a later version names the old pack again): the
//    record read is one in a complete pack, else one fetched into a partial pack (its index row points to that
//    pack), never one in the part of a partial pack not fetched, whatever other pack it was fetched into;
//  - a tree or file object fetched into none of them is not_found, and sets not_fetched() (fsck --repair then
//    cannot judge the version, and leaves it alone);
//  - chunk() returns the index entry from the named packs (its raw length is what a read verifies), fetched or not;
//    for a delta chunk it first checks its chain: every base the records name lies in a named pack, is a chunk and
//    has a depth one less than the record naming it (corrupt otherwise); a record of the chain in the part of a
//    partial pack not fetched ends the check (it cannot be read; a partial pull fetches the chains of its chunks).
// Use with core::check_version (check_version(objs, c, o)) for the whole version in one walk.
class NamedPackObjects : public VersionObjects {
public:
    NamedPackObjects(const VersionObjects& inner, const objects::ObjectStore& store, const objects::Commit& c,
                     const std::vector<objects::SealedPack>& received = {});
    ~NamedPackObjects() override;
    objects::Tree tree(const Hash32& id) const override;
    objects::FileObject file(const Hash32& id) const override;
    std::optional<objects::PackEntry> chunk(const Hash32& id) const override;
    bool not_fetched() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace dvt::core
