// A repository for the core/ unit tests: initialised in a TempDir, with helpers to write, remove and commit files and
// to read the working tree back. Commits are made through core::create_commit (no CLI), with a fixed author and a
// commit time that advances by one minute per commit (through DVT_AUTHOR_NAME/EMAIL/DATE, restored afterwards),
// without hooks or git provenance, so the ids are reproducible.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/commit.hpp"
#include "core/repository.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "test_support.hpp"

namespace dvt::test {

inline Bytes text_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Sets an environment variable for the lifetime of the object, then restores what was there.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (m_old) ::setenv(m_name, m_old->c_str(), 1);
        else ::unsetenv(m_name);
    }
    void set(const std::string& value) { ::setenv(m_name, value.c_str(), 1); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

struct CoreRepo {
    static constexpr std::int64_t kFirstCommitTime = 1700000000;

    TempDir dir;
    ScopedEnv author_name{"DVT_AUTHOR_NAME", "Core Tester"};
    ScopedEnv author_email{"DVT_AUTHOR_EMAIL", "core@example.org"};
    ScopedEnv author_date{"DVT_AUTHOR_DATE", std::to_string(kFirstCommitTime)};
    std::int64_t next_time = kFirstCommitTime;
    std::unique_ptr<core::Repository> repo;

    explicit CoreRepo(const std::string& what, const core::InitOptions& opts = {})
        : dir(what), repo(core::Repository::init(dir.path / "repo", opts)) {}

    const std::filesystem::path& root() const { return repo->root(); }

    void write(const std::string& rel, const Bytes& b) { write_file(root() / rel, b); }
    void write(const std::string& rel, const std::string& text) { write_file(root() / rel, text_bytes(text)); }
    void remove(const std::string& rel) { std::filesystem::remove_all(root() / rel); }
    void symlink(const std::string& rel, const std::string& target) {
        std::filesystem::create_directories((root() / rel).parent_path());
        std::filesystem::create_symlink(target, root() / rel);
    }
    void set_executable(const std::string& rel, bool exec) {
        using std::filesystem::perms;
        std::filesystem::permissions(root() / rel, perms::owner_exec | perms::group_exec | perms::others_exec,
                                     exec ? std::filesystem::perm_options::add : std::filesystem::perm_options::remove);
    }
    bool is_executable(const std::string& rel) const {
        struct stat st {};
        return ::stat((root() / rel).c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0;
    }
    Bytes read(const std::string& rel) const { return util::read_file(root() / rel); }
    bool exists(const std::string& rel) const {
        std::error_code ec;
        return std::filesystem::exists(std::filesystem::symlink_status(root() / rel, ec));
    }

    // Commits the whole working tree on HEAD; each commit is one minute after the previous one.
    core::CommitResult commit_result(const std::string& message, bool allow_empty = false) {
        author_date.set(std::to_string(next_time));
        next_time += 60;
        core::CommitOptions o;
        o.message = message;
        o.allow_empty = allow_empty;
        o.detect_git = false;
        o.run_hooks = false;
        return core::create_commit(*repo, o);
    }
    Hash32 commit(const std::string& message, bool allow_empty = false) { return commit_result(message, allow_empty).id; }

    // Creates (or moves, compare-and-swap) refs/heads/<name> or refs/tags/<name> through the ref store.
    void set_ref(const std::string& ref, const Hash32& id) { repo->refs().update(ref, repo->refs().read(ref), id, "test"); }
    void delete_ref(const std::string& ref) { repo->refs().update(ref, repo->refs().read(ref), std::nullopt, "test: deleted"); }

    // Every regular file and symlink below the root except .dvt: path -> bytes, or "-> target" for a symlink.
    std::map<std::string, std::string> snapshot() const {
        std::map<std::string, std::string> out;
        namespace fs = std::filesystem;
        for (auto it = fs::recursive_directory_iterator(root()); it != fs::recursive_directory_iterator(); ++it) {
            if (it->path().filename() == ".dvt") {
                it.disable_recursion_pending();
                continue;
            }
            std::string rel = fs::relative(it->path(), root()).generic_string();
            if (it->is_symlink()) {
                out[rel] = "-> " + fs::read_symlink(it->path()).string();
            } else if (it->is_regular_file()) {
                Bytes b = util::read_file(it->path());
                out[rel] = std::string(b.begin(), b.end());
            }
        }
        return out;
    }
};

}  // namespace dvt::test
