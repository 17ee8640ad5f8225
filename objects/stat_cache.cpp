#include "objects/stat_cache.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <mutex>

#include "objects/index_db.hpp"
#include "objects/sqlite_error.hpp"

namespace dvt::objects {

void StatCacheTable::for_each(const std::function<void(const StatCacheRow&)>& visit) const {
    guarded("reading the stat cache", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(),
                            "SELECT path, size, mtime_ns, ctime_ns, ino, mode, file_id, cached_at_ns FROM worktree "
                            "ORDER BY path");
        StatCacheRow r;
        while (q.executeStep()) {
            auto c = q.getColumn(6);
            if (c.getBytes() != 32) continue;
            r.path = q.getColumn(0).getString();
            r.size = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
            r.mtime_ns = q.getColumn(2).getInt64();
            r.ctime_ns = q.getColumn(3).getInt64();
            r.ino = static_cast<std::uint64_t>(q.getColumn(4).getInt64());
            r.mode = static_cast<std::uint32_t>(q.getColumn(5).getInt64());
            r.file_id = Hash32::from_bytes({static_cast<const std::uint8_t*>(c.getBlob()), 32});
            r.cached_at_ns = q.getColumn(7).getInt64();
            visit(r);
        }
    });
}

void StatCacheTable::replace(std::span<const StatCacheRow> rows) {
    if (rows.empty()) return;
    guarded("writing the stat cache", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        SQLite::Statement ins(m_db.db(), "INSERT OR REPLACE INTO worktree VALUES(?,?,?,?,?,?,?,?)");
        for (const auto& r : rows) {
            ins.bind(1, r.path);
            ins.bind(2, static_cast<std::int64_t>(r.size));
            ins.bind(3, r.mtime_ns);
            ins.bind(4, r.ctime_ns);
            ins.bind(5, static_cast<std::int64_t>(r.ino));
            ins.bind(6, static_cast<std::int64_t>(r.mode));
            ins.bind(7, r.file_id.bytes.data(), 32);
            ins.bind(8, r.cached_at_ns);
            ins.exec();
            ins.reset();
        }
        t.commit();
    });
}

}  // namespace dvt::objects
