// The object model: chunks, file manifests, trees and commits, with their canonical encodings.
// The byte-level grammar of each encoding is in docs/format.md ("Objects"); golden vectors in
// tests/unit/test_encodings.cpp pin them. Decoders accept only the canonical form: anything else is corrupt.
//
//   chunk   raw bytes                                            id = SHA-256(bytes)
//   file    "DVTF" 01 00 00 00 | u64 size | u32 n | n x (id[32] u32 len)            id = SHA-256(encoding)
//   tree    "DVTT" 01 00 00 00 | u32 n | n x entry (sorted by name, unique)          id = SHA-256(encoding)
//           entry = u8 kind | u16 name_len | name | u64 size | (kind==symlink ? target[size] : id[32])
//   commit  UTF-8 text, "dvt-commit 2\n" + headers + "\n" + message   id = v2 info-hash (objects/torrent_id.hpp)
//           (format 1, still read and written by format-1 repositories, lacks the `chunker` header)
// Every decoder also enforces the limits of objects/limits.hpp before it allocates (docs/format.md, "Limits").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "objects/chunker.hpp"
#include "util/bytes.hpp"
#include "util/hash.hpp"

namespace dvt::objects {

enum class ObjectType : std::uint8_t { chunk = 1, file = 2, tree = 3, commit = 4 };
const char* type_name(ObjectType t);

struct ChunkRef {
    Hash32 id;
    std::uint32_t size = 0;
    bool operator==(const ChunkRef&) const = default;
};

struct FileObject {
    std::uint64_t size = 0;
    std::vector<ChunkRef> chunks;

    Bytes encode() const;
    static FileObject decode(std::span<const std::uint8_t> b);
};

enum class EntryKind : std::uint8_t { file = 1, executable = 2, symlink = 3, directory = 4 };
const char* kind_name(EntryKind k);

struct TreeEntry {
    std::string name;
    EntryKind kind = EntryKind::file;
    std::uint64_t size = 0;  // file: bytes; symlink: target length; directory: bytes of all files below
    Hash32 id;               // file object, or subtree; zero for symlinks
    std::string target;      // symlinks only
    bool operator==(const TreeEntry&) const = default;
};

// A name that may appear in a tree: non-empty, at most 1024 bytes, no '/' or NUL, not "." or "..", and not ".dvt"
// or ".git" (never tracked, so a tree naming them is forged or corrupt).
bool valid_entry_name(std::string_view name);

struct Tree {
    std::vector<TreeEntry> entries;  // sorted by name (bytewise), unique

    Bytes encode() const;  // throws corrupt if entries are not sorted/unique/valid
    static Tree decode(std::span<const std::uint8_t> b);
    const TreeEntry* find(std::string_view name) const;
};

struct PackRef {
    Hash32 id;                       // BEP 52 pieces root of the pack file
    std::uint64_t length = 0;        // bytes
    std::uint64_t index_offset = 0;  // where the pack's index starts (see objects/pack.hpp)
    bool operator==(const PackRef&) const = default;
};

// Commit formats this dvt reads; it writes either (a repository's core.format decides, core/repository.hpp).
constexpr int kCommitFormatMin = 1;
constexpr int kCommitFormat = 2;

struct Commit {
    int format = kCommitFormat;  // the first line: "dvt-commit <format>"
    Hash32 tree;
    std::vector<Hash32> parents;  // first parent first
    std::string author_name;
    std::string author_email;
    std::int64_t time = 0;     // seconds since the epoch
    int tz_offset_minutes = 0; // of the author's local time
    std::uint64_t files = 0;   // regular files and symlinks in the tree
    std::uint64_t bytes = 0;   // their total size
    // Format 2: how the files of this version were cut (required). Format 1: absent; such a commit's files were cut
    // with the chunker of the repository that made it, which a reader can only assume is its own (core::Repository::chunker_of).
    std::optional<ChunkerParams> chunker = ChunkerParams{};
    std::optional<std::string> git_commit;  // provenance (issue 5): hex id of the git HEAD commit
    std::optional<bool> git_dirty;          // whether that git work tree had uncommitted changes
    // Format 2, optional: the version's locator (objects/locator.hpp), a chunk record of id `id` in the named pack
    // `pack`; the header `locator <id> <pack id>`.
    struct LocatorRef {
        Hash32 id;
        Hash32 pack;
        bool operator==(const LocatorRef&) const = default;
    };
    std::optional<LocatorRef> locator;
    std::vector<PackRef> packs;  // every pack holding an object reachable from `tree`; sorted by id, unique
    std::string message;

    Bytes encode() const;  // throws internal if `chunker` does not match `format`
    // Accepts only the canonical encoding (re-encoding gives the same bytes, so a commit has exactly one id); a
    // format above kCommitFormat is ErrorKind::unsupported, anything malformed or over a limit ErrorKind::corrupt.
    static Commit decode(std::span<const std::uint8_t> b);
};

}  // namespace dvt::objects
