#include "transport/follower.hpp"

#include "transport/pull.hpp"

#include <memory>
#include <thread>
#include <sstream>
#include <map>
#include <set>
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

using Clock = std::chrono::steady_clock;

Follower::Follower(core::Repository& repo, SwarmSession& session, DhtOptions dht, std::optional<PublisherKey> key,
                   std::optional<PublicKey> follow, std::string branch, std::chrono::milliseconds interval,
                   Say warn, Say info)
    : m_repo(repo), m_session(session), m_dht(std::move(dht)), m_key(std::move(key)), m_follow(follow),
      m_branch(std::move(branch)), m_interval(interval), m_warn(std::move(warn)), m_info(std::move(info)),
      m_next_follow(Clock::now()), m_next_publish(Clock::now() + std::chrono::seconds(5)),
      m_next_check(Clock::now() + std::chrono::seconds(5)) {
    // a follower polls every few seconds: say each distinct warning once
    m_warn = [inner = std::move(m_warn), seen = std::make_shared<std::set<std::string>>()](const std::string& w) {
        if (inner && seen->insert(w).second) inner(w);
    };
}

void Follower::tick() {
    auto now = Clock::now();
    if (now >= m_next_seed) {  // private nodes that were down at start (or restarted) are found again
        m_session.reseed_dht();
        m_next_seed = now + std::chrono::seconds(5);
    }
    if (m_follow && now >= m_next_follow) {
        try {
            follow_once();
        } catch (const Error& e) {
            if (m_warn) m_warn("following dvt://" + public_hex(*m_follow) + ": " + e.what());
        }
        m_next_follow = Clock::now() + m_interval;
    }
    if (m_key && now >= m_next_check) {  // a branch or tag moved (a commit, a tag): publish it now
        m_next_check = now + std::chrono::seconds(2);
        if (now >= m_next_publish || own_refs() != m_published) {
            try {
                publish_own();
            } catch (const Error& e) {
                if (m_warn) m_warn(std::string("publishing refs: ") + e.what());
            }
            m_next_publish = Clock::now() + republish_every;
        }
    }
}

std::vector<std::pair<std::string, Hash32>> Follower::own_refs() const {
    std::vector<std::pair<std::string, Hash32>> refs;
    for (const char* prefix : {"refs/heads/", "refs/tags/"})
        for (const auto& r : m_repo.refs().list(prefix)) refs.push_back(r);
    return refs;
}

void Follower::publish_own() {
    auto refs = own_refs();
    if (refs.empty()) return;
    std::vector<std::string> skipped;
    auto items = ref_items(refs, m_repo.config().get_or("mirror.url", ""), &skipped);
    auto done = put_items(m_session, *m_key, items, std::chrono::seconds(30));
    std::string text;
    for (std::size_t i = 0; i + 1 < done.size() && i + 1 < items.size(); ++i)
        if (auto c = decode_ref_value(items[i].second))
            text += done[i].salt + " " + c->hex() + " " + std::to_string(done[i].seq) + " " +
                    std::to_string(done[i].nodes) + "\n";
    util::atomic_write_file(m_repo.dvt_dir() / kPublishedFile, text);
    m_published = std::move(refs);
}

std::optional<std::vector<Published>> wait_server_published(const core::Repository& repo,
                                                            const std::vector<std::pair<std::string, Hash32>>& refs,
                                                            std::chrono::milliseconds timeout,
                                                            const std::function<bool()>& interrupted) {
    if (util::try_lock_file(repo.dvt_dir() / "serve.lock")) return std::nullopt;  // no server holds it
    if (!util::try_read_text(repo.dvt_dir() / kPublishedFile)) return std::nullopt;  // it never published (no DHT/key)
    auto deadline = Clock::now() + timeout;
    while (true) {
        if (auto text = util::try_read_text(repo.dvt_dir() / kPublishedFile)) {
            std::map<std::string, std::pair<std::string, Published>> got;
            std::istringstream in(*text);
            std::string ref, commit;
            Published p;
            while (in >> ref >> commit >> p.seq >> p.nodes) {
                p.salt = ref;
                got[ref] = {commit, p};
            }
            std::vector<Published> out;
            for (const auto& [name, id] : refs)
                if (auto it = got.find(name); it != got.end() && it->second.first == id.hex() && it->second.second.nodes > 0)
                    out.push_back(it->second.second);
            if (out.size() == refs.size()) return out;
        }
        if (Clock::now() >= deadline || (interrupted && interrupted())) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void Follower::follow_once() {
    auto r = resolve_ref(m_session, *m_follow, "refs/heads/" + m_branch, std::chrono::seconds(10), m_warn);
    republish(m_session, r.answer);
    if (m_last == r.commit) return;
    std::string ref = "refs/remotes/follow/" + m_branch;
    auto record = [&] {
        auto old = m_repo.refs().read(ref);
        if (old != r.commit) m_repo.refs().update(ref, old, r.commit, "follow: " + r.commit.hex());
    };
    if (have_everything(m_repo, r.commit)) {
        auto lock = m_repo.write_lock();
        record();
    } else {
        PullOptions o;
        o.dht = m_dht;
        o.listen = Endpoint(m_session.listen_endpoint().address(), 0);
        o.timeout = std::chrono::minutes(10);
        o.web_seeds = record_web_seeds(r.answer.item);
        o.upload_limit = upload_limit;
        o.download_limit = download_limit;
        o.lsd = lsd;
        auto s = open_session(o);
        auto f = fetch(*s, m_repo, r.commit, o, record);
        if (m_info)
            m_info("follow: fetched " + r.commit.hex().substr(0, 12) + " (" + std::to_string(f.packs_fetched) +
                   " packs, " + std::to_string(f.bytes_downloaded) + " bytes)");
    }
    m_last = r.commit;
}

}  // namespace dvt::transport
