#include "transport/seeder.hpp"

#include <sys/stat.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/load_torrent.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include <algorithm>

#include "objects/torrent_id.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

lt::add_torrent_params load(const Bytes& torrent, const Hash32& expected_info_hash, const std::string& what) {
    lt::add_torrent_params atp;
    try {
        atp = lt::load_torrent_buffer({reinterpret_cast<const char*>(torrent.data()),
                                       static_cast<std::ptrdiff_t>(torrent.size())});
    } catch (const std::exception& e) {
        throw Error(ErrorKind::internal, "libtorrent cannot load the torrent of " + what + ": " + e.what());
    }
    if (!atp.ti || !atp.ti->info_hashes().has_v2() || atp.ti->info_hashes().has_v1() ||
        from_lt(atp.ti->info_hashes().v2) != expected_info_hash)
        throw Error(ErrorKind::internal, "the info-hash libtorrent computes for " + what +
                                             " differs from dvt's swarm identity " + expected_info_hash.hex());
    atp.have_pieces.resize(atp.ti->num_pieces(), true);  // verified when written: no re-hashing at start
    return atp;
}

std::uint64_t size_of(const fs::path& p) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) throw_errno("cannot stat " + p.string());
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

lt::add_torrent_params commit_seed_params(const objects::ObjectStore& store, const Hash32& id) {
    Bytes bytes = store.read_commit_bytes(id);  // re-hashed into its id (throws corrupt otherwise)
    objects::MerkleBuilder m;
    m.update(bytes.data(), bytes.size());
    Bytes t = objects::torrent_file(objects::kCommitTorrentName, bytes.size(), m.root(), objects::kCommitPieceLength,
                                    m.piece_layer(objects::kCommitPieceLength));
    auto atp = load(t, id, "commit " + id.hex());
    // The single file "dvt-commit" is stored as .dvt/commits/<id>.
    atp.save_path = store.commit_path(id).parent_path().parent_path().string();
    atp.renamed_files[lt::file_index_t{0}] = "commits/" + id.hex();
    return atp;
}

lt::add_torrent_params pack_seed_params(const objects::ObjectStore& store, const objects::PackInfo& pack) {
    const Hash32& id = pack.ref.id;
    std::uint64_t len = pack.ref.length;
    auto path = store.pack_path(id);
    if (size_of(path) != len)
        throw Error(ErrorKind::corrupt, "pack " + id.hex() + " has the wrong length on disk (run dvt fsck)");
    std::uint32_t piece = objects::pack_piece_length(len);
    Bytes layer = store.piece_layer(pack.num);
    std::uint64_t pieces = (len + piece - 1) / piece;
    if (layer.size() != (pieces > 1 ? pieces * 32 : 0))
        throw Error(ErrorKind::corrupt, "pack " + id.hex() + ": the piece layer in the index database is malformed "
                                        "(run dvt fsck --repair)");
    Bytes t = objects::torrent_file(objects::pack_torrent_name(id), len, id, piece, layer);
    auto atp = load(t, objects::pack_info_hash(id, len), "pack " + id.hex());
    atp.save_path = store.packs_dir().string();
    return atp;
}

lt::add_torrent_params partial_pack_seed_params(const objects::ObjectStore& store, const objects::PackInfo& pack) {
    auto text = util::try_read_text(store.resume_path(pack.ref.id));
    if (!text) throw Error(ErrorKind::not_found, "partial pack " + pack.ref.id.hex() + " has no resume data");
    lt::error_code ec;
    auto atp = lt::read_resume_data({text->data(), static_cast<std::ptrdiff_t>(text->size())}, ec);
    if (ec || !atp.ti || !atp.ti->info_hashes().has_v2() ||
        from_lt(atp.ti->info_hashes().v2) != objects::pack_info_hash(pack.ref.id, pack.ref.length))
        throw Error(ErrorKind::corrupt, "the resume data of partial pack " + pack.ref.id.hex() + " is damaged");
    atp.save_path = store.partial_dir().string();
    atp.peers.clear();
    atp.trackers.clear();
    atp.tracker_tiers.clear();
    atp.url_seeds.clear();
    atp.piece_priorities.clear();
    atp.file_priorities.assign(1, lt::dont_download);
    return atp;
}

lt::torrent_handle Seeder::commit_handle(const Hash32& id) const {
    auto it = m_commits.find(id);
    return it == m_commits.end() ? lt::torrent_handle{} : it->second;
}

lt::torrent_handle Seeder::pack_handle(const Hash32& id) const {
    auto it = m_packs.find(id);
    return it == m_packs.end() ? lt::torrent_handle{} : it->second;
}

SeedCounts Seeder::counts() const { return {m_commits.size(), m_packs.size() - m_partial.size(), m_partial.size()}; }

Seeder::Seeder(SwarmSession& session, core::Repository& repo, Warn warn, std::vector<std::string> trackers)
    : m_session(session), m_repo(repo), m_warn(std::move(warn)), m_trackers(std::move(trackers)) {}

lt::torrent_handle Seeder::add(lt::add_torrent_params atp) {
    atp.trackers = m_trackers;
    if (m_super_seed) atp.flags |= lt::torrent_flags::super_seeding;
    return m_session.add_torrent(std::move(atp));
}

void Seeder::warn_once(const std::string& key, const std::string& msg) {
    if (!m_warned.insert(key).second) return;
    if (m_warn) m_warn(msg);
}

SeedCounts Seeder::rescan() {
    auto& store = m_repo.store();

    std::set<Hash32> commits;
    for (const auto& id : store.list_commits()) commits.insert(id);
    for (auto it = m_commits.begin(); it != m_commits.end();) {
        if (commits.count(it->first)) {
            ++it;
            continue;
        }
        drop(it->second);
        it = m_commits.erase(it);
    }
    for (const auto& id : commits) {
        if (m_commits.count(id) || m_warned.count("commit " + id.hex())) continue;
        try {
            m_commits.emplace(id, add(commit_seed_params(store, id)));
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::internal) throw;
            if (e.kind() == ErrorKind::not_found) continue;  // removed by gc since the listing
            warn_once("commit " + id.hex(), "not serving commit " + id.hex() + ": " + e.what());
        }
    }

    std::map<Hash32, objects::PackInfo> packs;
    for (const auto& p : store.packs()) packs.emplace(p.ref.id, p);
    for (auto it = m_packs.begin(); it != m_packs.end();) {
        auto now = packs.find(it->first);
        if (now != packs.end() && now->second.partial == (m_partial.count(it->first) > 0)) {
            ++it;
            continue;
        }
        drop(it->second);
        m_partial.erase(it->first);
        it = m_packs.erase(it);
    }
    for (const auto& [id, info] : packs) {
        if (m_packs.count(id) || m_warned.count("pack " + id.hex())) continue;
        try {
            if (info.partial) {
                m_packs.emplace(id, add(partial_pack_seed_params(store, info)));
                m_partial.insert(id);
            } else {
                m_packs.emplace(id, add(pack_seed_params(store, info)));
            }
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::internal) throw;
            if (e.kind() == ErrorKind::not_found) continue;  // a partial pack whose pull has not saved anything yet
            warn_once("pack " + id.hex(), "not serving pack " + id.hex() + ": " + e.what());
        }
    }
    return counts();
}

void Seeder::drop(lt::torrent_handle h) {
    m_uploaded_removed += static_cast<std::uint64_t>(h.status({}).total_payload_upload);
    m_session.native().remove_torrent(h);
}

std::uint64_t Seeder::bytes_uploaded() const {
    std::uint64_t n = m_uploaded_removed;
    for (const auto* m : {&m_commits, &m_packs})
        for (const auto& [id, h] : *m) n += static_cast<std::uint64_t>(h.status({}).total_payload_upload);
    return n;
}

namespace {

// Why libtorrent closed a connection (lt::close_reason_t), for the reasons a seeder sees; others by number.
std::string close_reason_text(lt::close_reason_t r) {
    using R = lt::close_reason_t;
    switch (r) {
        case R::none: return "";
        case R::duplicate_peer_id: return "duplicate peer id";
        case R::torrent_removed: return "torrent removed";
        case R::upload_to_upload: return "both sides complete";
        case R::not_interested_upload_only: return "peer complete and not interested";
        case R::timeout: return "timed out";
        case R::timed_out_interest: return "not interested for too long";
        case R::timed_out_activity: return "inactive for too long";
        case R::timed_out_handshake: return "handshake timed out";
        case R::timed_out_request: return "no request after unchoke";
        case R::peer_churn: return "replaced by a better peer";
        case R::too_many_connections: return "too many connections";
        case R::too_many_files: return "too many open files";
        case R::invalid_info_hash: return "unknown torrent";
        case R::self_connection: return "connection to itself";
        case R::corrupt_pieces: return "sent corrupt pieces";
        default: return "reason " + std::to_string(static_cast<int>(r));
    }
}

}  // namespace

void Seeder::on_alert(lt::alert* a) {
    if (auto* d = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
        std::string why = close_reason_text(d->reason);
        if (why.empty()) why = d->error == boost::asio::error::eof ? "closed by the peer" : d->error.message();
        if (m_dropped.size() < 64 || m_dropped.count(why)) ++m_dropped[why];  // bounded: few distinct reasons
        return;
    }
    if (lt::alert_cast<lt::dht_bootstrap_alert>(a)) {
        // torrents added before the DHT had any node announced into the void: announce them now
        for (const auto* m : {&m_commits, &m_packs})
            for (const auto& [id, h] : *m) h.force_dht_announce();
        return;
    }
    if (auto* ck = lt::alert_cast<lt::torrent_checked_alert>(a); ck && m_super_seed) {
        // libtorrent honours the flag only for a torrent that is a seed; set it again once the check has made it one
        ck->handle.set_flags(lt::torrent_flags::super_seeding);
        return;
    }
    if (auto* te = lt::alert_cast<lt::torrent_error_alert>(a))
        warn_once(std::string("torrent-error ") + te->torrent_name(), te->message());
    else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a))
        warn_once("file-error " + std::string(fe->filename()), fe->message());
}

std::vector<TorrentPeers> Seeder::peers_per_torrent(std::size_t max) const {
    std::map<lt::torrent_handle, TorrentPeers> by_handle;
    for (const auto& [id, h] : m_commits) by_handle[h] = TorrentPeers{true, id, 0};
    for (const auto& [id, h] : m_packs) by_handle[h] = TorrentPeers{false, id, 0};
    auto st = m_session.native().get_torrent_status([](const lt::torrent_status& s) { return s.num_peers > 0; }, {});
    std::vector<TorrentPeers> out;
    for (const auto& s : st)
        if (auto it = by_handle.find(s.handle); it != by_handle.end()) {
            it->second.peers = s.num_peers;
            out.push_back(it->second);
        }
    std::sort(out.begin(), out.end(), [](const TorrentPeers& a, const TorrentPeers& b) { return a.peers > b.peers; });
    if (out.size() > max) out.resize(max);
    return out;
}

void Seeder::run(const std::function<bool()>& stop, std::chrono::milliseconds rescan_every) {
    auto next = std::chrono::steady_clock::now() + rescan_every;
    while (!stop()) {
        m_session.poll(std::chrono::milliseconds(200), [this](lt::alert* a) { on_alert(a); });
        if (std::chrono::steady_clock::now() >= next) {
            rescan();
            next = std::chrono::steady_clock::now() + rescan_every;
        }
    }
}

}  // namespace dvt::transport
