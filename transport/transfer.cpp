#include "transport/transfer.hpp"

#include <fcntl.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>

#include <algorithm>

#include "objects/torrent_id.hpp"
#include "transport/verify_received.hpp"
#include "util/error.hpp"

namespace dvt::transport {

namespace {

std::string mib(std::uint64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
    return buf;
}

}  // namespace

// "9.0 MiB of 9.1 MiB"; exact bytes when the two would print the same although they differ ("9535488 of 9568256
// bytes (32768 missing)"): a pull that lacks one piece must not look complete.
std::string amount_of(std::uint64_t done, std::uint64_t total) {
    if (done < total && mib(done) == mib(total))
        return std::to_string(done) + " of " + std::to_string(total) + " bytes (" + std::to_string(total - done) +
               " missing)";
    return mib(done) + " of " + mib(total);
}

// Missing wanted pieces of `i` as of its last status (defined below).
std::vector<int> missing_pieces(const Item& i);

namespace {

// A complete pack that asks for verification and whose verification has not been started.
bool verification_pending(const Item& i) { return i.done && i.verify && !i.sealed.valid() && i.handle.is_valid(); }

}  // namespace

Item& Transfer::add(Item it, lt::add_torrent_params atp) {
    // With the DHT, a pull only looks peers up (lookup_peers), it never announces: libtorrent 2.0.8 puts every
    // node that sends announce_peer (or put) into the receiver's routing table even when the sender is a
    // read-only node, so each short-lived pull would leave a dead node behind, and later lookups that reach it
    // wait 15 s for its timeout. (A pull still serves the peers that find it through the seeder, by PEX.)
    if (m_opts.dht.enabled) atp.flags |= lt::torrent_flags::disable_dht;
    atp.peers = m_opts.peers;
    atp.trackers = m_opts.trackers;
    // mirrors (BEP 19): packs at <base>/packs/<id>.pack, commits at <base>/commits/<id>/dvt-commit
    for (const auto& w : m_opts.web_seeds) {
        std::string base = w.ends_with('/') ? w : w + "/";
        atp.url_seeds.push_back(it.name == objects::kCommitTorrentName ? base + "commits/" + it.id.hex() + "/"
                                                                       : base + "packs/");
    }
    atp.flags |= lt::torrent_flags::update_subscribe;  // in the state_update_alerts (request_updates)
    it.handle = m_s.add_torrent(std::move(atp));
    it.added = Clock::now();
    if (m_opts.dht.enabled) it.dht_hash = lt::sha1_hash(it.handle.info_hashes().v2.data());
    m_items.push_back(std::move(it));
    m_by_handle[m_items.back().handle] = &m_items.back();
    return m_items.back();
}

void Transfer::enqueue(std::uint64_t length, std::function<void()> start) {
    m_pending.push_back(Pending{length, std::move(start)});
    m_pending_bytes += length;
}

void Transfer::fill() {
    std::size_t active = static_cast<std::size_t>(std::count_if(
        m_items.begin(), m_items.end(), [](const Item& i) { return !i.done && !i.parked && i.handle.is_valid(); }));
    // parked packs that want more pieces again (a fetch in stages) come first, within the same bound
    for (auto& i : m_items) {
        if (active >= kMaxActive) break;
        if (!i.parked || i.done || !i.handle.is_valid()) continue;
        i.handle.resume();
        i.parked = false;
        ++active;
    }
    while (active < kMaxActive && !m_pending.empty() && Clock::now() < m_deadline) {
        if (m_opts.interrupted && m_opts.interrupted()) throw Interrupted();
        Pending p = std::move(m_pending.front());
        m_pending.pop_front();
        m_pending_bytes -= p.length;
        p.start();
        ++active;
    }
}

void Transfer::want(Item& it, const std::vector<bool>& pieces, std::uint32_t piece_length) {
    want(it, pieces, piece_length, {});
}

void Transfer::want(Item& it, const std::vector<bool>& pieces, std::uint32_t piece_length,
                    const std::vector<std::uint8_t>& ahead) {
    std::vector<lt::download_priority_t> prio(pieces.size(), lt::dont_download);
    it.wanted_bytes = 0;
    it.ahead = false;
    for (std::size_t i = 0; i < pieces.size(); ++i)
        if (pieces[i]) {
            prio[i] = lt::default_priority;
            it.wanted_bytes += std::min<std::uint64_t>(piece_length, it.length - i * std::uint64_t{piece_length});
        } else if (i < ahead.size() && ahead[i] > 0) {
            prio[i] = lt::download_priority_t(std::min<std::uint8_t>(ahead[i], 3));
            it.ahead = true;
        }
    it.handle.prioritize_pieces(prio);
    if (it.ahead && it.parked) {  // resumed here: fill() resumes only a parked torrent that is not done
        it.handle.resume();
        it.parked = false;
    }
    it.wanted = pieces;
    it.saved_done = false;
    // done if every wanted piece was present at the last refresh (pieces are never lost): a parked pack that has them
    // all is not resumed (fill) only to be parked again
    it.done = it.have.size() > 0;
    for (std::size_t p = 0; p < pieces.size() && it.done; ++p)
        if (pieces[p] && (static_cast<int>(p) >= it.have.size() || !it.have.get_bit(lt::piece_index_t(static_cast<int>(p)))))
            it.done = false;
}

void Transfer::run(std::uint64_t base_done, std::uint64_t base_total, bool have_commit,
         const std::function<void(Item&, const lt::torrent_info&)>& on_metadata) {
    auto next_status = Clock::now();
    auto next_save = Clock::now() + std::chrono::seconds(1);
    auto next_lookup = Clock::now();
    auto next_lsd = Clock::now();
    auto next_tracker = Clock::now();
    // Once, in one call: a stage of a partial pull may want only pieces that are already here, and a torrent whose
    // state does not change is in no state_update_alert.
    refresh();
    while (true) {
        fill();
        m_s.poll(std::min(std::chrono::milliseconds(100), m_status_every), [&](lt::alert* a) { handle(a, on_metadata); });
        if (m_opts.interrupted && m_opts.interrupted()) throw Interrupted();
        if (Clock::now() >= next_status) {
            request_updates();  // the answer arrives as an alert, handled by a later poll
            next_status = Clock::now() + m_status_every;
            if (m_opts.progress) {
                PullProgress p;
                p.done = base_done + payload_done();
                p.total = base_total + m_pending_bytes;
                for (const auto& i : m_items) {
                    p.total += i.wanted ? i.wanted_bytes : i.length;
                    p.peers += i.peers;
                }
                p.have_commit = have_commit;
                m_opts.progress(p);
            }
        }
        if (m_opts.dht.enabled && Clock::now() >= next_lookup) {
            // at once, then every 2 s while a torrent has few peers: a seeder that announced after the first
            // lookup is found only by asking again
            for (auto& i : m_items)
                if (!i.done && i.peers < 4 && i.handle.is_valid())
                    m_s.native().dht_get_peers(i.dht_hash);
            next_lookup = Clock::now() + std::chrono::seconds(2);
        }
        if (m_opts.lsd && Clock::now() >= next_lsd) {
            // a torrent announces itself on the LAN when it starts; one that has found nobody asks again (a
            // seeder that starts later, or a lost datagram), at most every 5 s; so does one still without its info
            // dict (its peer count comes from the last status update posted for it, which a peer that connected
            // and left may have left stale)
            for (auto& i : m_items)
                if (!i.done && (i.peers == 0 || !i.has_metadata) && i.handle.is_valid() &&
                    Clock::now() - i.added >= std::chrono::seconds(5))
                    i.handle.force_lsd_announce();
            next_lsd = Clock::now() + std::chrono::seconds(5);
        }
        if (!m_opts.trackers.empty() && Clock::now() >= next_tracker) {
            // the same for trackers: a torrent whose tracker answered before the seeder announced that torrent waits
            // for the tracker's interval (opentracker: tens of minutes) unless it asks again; at most every 5 s
            for (auto& i : m_items)
                if (!i.done && i.peers == 0 && i.handle.is_valid() && Clock::now() - i.added >= std::chrono::seconds(5))
                    i.handle.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
            next_tracker = Clock::now() + std::chrono::seconds(5);
        }
        if (Clock::now() >= next_save) {
            start_writeback();
            save_resume(lt::torrent_handle::only_if_modified);
            next_save = Clock::now() + std::chrono::seconds(1);
        }
        park_finished();
        start_verifying();
        if (m_pending.empty() && std::all_of(m_items.begin(), m_items.end(), [](const Item& i) { return i.done; }))
            break;
        if (Clock::now() >= m_deadline) timeout(have_commit);
    }
    refresh();
    start_verifying();
}

void Transfer::start_verifying() {
    std::size_t running = 0;
    for (auto& i : m_items)
        if (i.sealed.valid() && i.sealed.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ++running;
    for (auto& i : m_items) {
        if (running >= m_verify_threads) break;
        if (!verification_pending(i)) continue;
        std::function<objects::SealedPack()> verify = [file = i.file, ref = *i.verify,
                                                       l = m_s.piece_layer(i.file.string())] {
            return with_settle_retries([&] { return verify_pack(file, ref, l.value_or(Bytes{})); });
        };
        i.sealed = m_launch ? m_launch(i, std::move(verify)) : std::async(std::launch::async, std::move(verify));
        ++running;
    }
}

void Transfer::finish_verifying() {
    while (true) {
        start_verifying();
        auto busy = std::find_if(m_items.begin(), m_items.end(), [](const Item& i) {
            return i.sealed.valid() && i.sealed.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
        });
        if (busy != m_items.end()) {
            busy->sealed.wait();
            continue;
        }
        // None running: done only if none is left to start either (start_verifying starts at most kVerifyThreads, and
        // those may all have finished before the check above, with complete packs still waiting to be started).
        if (std::none_of(m_items.begin(), m_items.end(), [](const Item& i) { return verification_pending(i); })) return;
    }
}

void Transfer::close() {
    m_pending.clear();
    m_pending_bytes = 0;
    if (m_items.empty()) return;
    refresh();
    for (auto& i : m_items) {
        if (!i.handle.is_valid()) continue;
        m_removed += i.traffic;
        i.traffic = {};
        i.handle.pause();
    }
    save_resume({});
    std::vector<lt::torrent_handle> flushing;
    for (auto& i : m_items)
        if (i.handle.is_valid() && i.has_metadata) {  // only a torrent with metadata has storage
            i.handle.flush_cache();
            flushing.push_back(i.handle);
        }
    auto until = Clock::now() + std::chrono::seconds(10);
    auto saving = [&] { return std::any_of(m_items.begin(), m_items.end(), [](const Item& i) { return i.saving; }); };
    while ((!flushing.empty() || saving()) && Clock::now() < until)
        m_s.poll(std::chrono::milliseconds(100), [&](lt::alert* a) {
            if (auto* c = lt::alert_cast<lt::cache_flushed_alert>(a)) std::erase(flushing, c->handle);
            else handle(a, {});
        });
    for (auto& i : m_items)
        if (i.handle.is_valid()) m_s.native().remove_torrent(i.handle);
    m_by_handle.clear();
    m_last_verified.clear();
    m_items.clear();
    m_resume.flush();  // the resume data saved above is on disk before the caller touches the files
}

Traffic Transfer::traffic() const {
    Traffic t = m_removed;
    for (const auto& i : m_items) t += i.traffic;
    t.pieces_failed = m_hash_failures;
    t.banned = m_banned;
    return t;
}

void Transfer::park_finished() {
    std::size_t seeding = 0;
    for (auto it = m_items.rbegin(); it != m_items.rend(); ++it) {
        auto& i = *it;
        if (!i.done || i.parked || i.ahead || !i.handle.is_valid() || i.name == objects::kCommitTorrentName) continue;
        if (++seeding <= kMaxSeeding) continue;
        i.handle.pause();  // its connections close; the file stays (verified and imported after the transfer)
        i.parked = true;
    }
}

void Transfer::start_writeback() {
    for (auto& i : m_items) {
        if (i.file.empty()) continue;
        if (i.done) {
            // the last hint, then the descriptor goes: a pull of thousands of packs holds one per active pack only
            if (i.writeback) (void)::sync_file_range(i.writeback.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
            i.writeback = util::Fd();
            continue;
        }
        if (!i.writeback) {
            int fd = ::open(i.file.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;  // not created yet
            i.writeback = util::Fd(fd);
        }
        (void)::sync_file_range(i.writeback.get(), 0, 0, SYNC_FILE_RANGE_WRITE);  // a hint: errors do not matter
    }
}

std::uint64_t Transfer::payload_done() const {
    std::uint64_t n = 0;
    for (const auto& i : m_items) n += i.verified;
    return n;
}

Item* Transfer::find(const lt::torrent_handle& h) {
    auto it = m_by_handle.find(h);
    return it == m_by_handle.end() ? nullptr : it->second;
}

void Transfer::save_resume(lt::resume_data_flags_t flags) {
    for (auto& i : m_items)
        if (!i.resume.empty() && i.handle.is_valid() && !i.saving && !i.saved_done) {
            i.saving = true;
            if (i.done) i.saved_done = true;  // this save holds every piece it will have
            i.handle.save_resume_data(flags | lt::torrent_handle::save_info_dict);
        }
}

void Transfer::handle(lt::alert* a, const std::function<void(Item&, const lt::torrent_info&)>& on_metadata) {
    if (auto* rd = lt::alert_cast<lt::save_resume_data_alert>(a)) {
        if (auto* i = find(rd->handle)) {
            i->saving = false;
            m_resume.put(i->resume, lt::write_resume_data_buf(rd->params));  // written on the writer's thread
        }
    } else if (auto* su = lt::alert_cast<lt::state_update_alert>(a)) {
        for (const auto& st : su->status) apply(st);
    } else if (auto* rf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
        if (auto* i = find(rf->handle)) {  // e.g. nothing modified since the last save
            i->saving = false;
            // not modified: the last save written holds every piece (a complete pack is not asked again); any other
            // failure: ask again next time
            if (rf->error != lt::errors::resume_data_not_modified) i->saved_done = false;
        }
    } else if (auto* f = lt::alert_cast<lt::torrent_finished_alert>(a)) {
        // "finished" means every piece with a non-zero priority: complete only when seeding
        if (auto* i = find(f->handle); i && !i->wanted && i->handle.status({}).is_seeding) i->done = true;
    } else if (auto* ck = lt::alert_cast<lt::torrent_checked_alert>(a)) {
        // libtorrent 2.0.8 puts a torrent that was added with its metadata on the session's connect list only
        // at the torrent's next one-second tick; resuming it puts it there at once (measured: the first
        // connection of a pack torrent starts ~1 s earlier). Not for a torrent added by hash: its connection
        // is already up when it gets checked, and pausing would drop it.
        if (auto* i = find(ck->handle); i && i->kick_when_checked) {
            i->kick_when_checked = false;
            i->handle.pause();
            i->handle.resume();
        }
    } else if (auto* m = lt::alert_cast<lt::metadata_received_alert>(a)) {
        if (auto* i = find(m->handle))
            if (auto ti = i->handle.torrent_file(); ti && on_metadata) on_metadata(*i, *ti);
    } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
        if (find(e->handle))
            throw Error(ErrorKind::io, "receiving commit " + m_commit.hex() + " failed: " + e->error.message() +
                                           (e->filename()[0] ? std::string(" (") + e->filename() + ")" : ""));
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
        if (find(fe->handle))
            throw Error(ErrorKind::io, std::string("cannot write ") + fe->filename() + ": " + fe->error.message());
    } else if (auto* d = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
        auto* i = find(d->handle);
        if (i && i->done) return;  // a finished torrent lets its peers go
        std::string ep = endpoint_string(d->endpoint);
        if (d->reason == lt::close_reason_t::not_interested_upload_only && i && i->has_metadata) {
            // libtorrent let it go because it is complete as far as it goes and has none of the pieces we still
            // want: it lacks every missing piece of this torrent
            auto missing = missing_pieces(*i);
            if (!missing.empty() && (!m_lacks.count(ep) || m_lacks[ep].pack == i->name))
                m_lacks[ep] = Lack{missing.size(), i->name};
        } else if (d->reason == lt::close_reason_t::upload_to_upload || m_lacks.count(ep)) {
            // we let it go (it has nothing we want), or it closed after showing it lacks data: what it lacks is
            // what the timeout reports (m_lacks), not how the connection ended
        } else if (d->error == boost::asio::error::eof || d->error == boost::asio::error::connection_reset) {
            m_peer_errors[ep] = "it closed the connection: it does not serve this data";
        } else if (d->error) {
            m_peer_errors[ep] = d->error.message();
        }
    } else if (auto* pe = lt::alert_cast<lt::peer_error_alert>(a)) {
        if (pe->error) m_peer_errors[endpoint_string(pe->endpoint)] = pe->error.message();
    } else if (auto* c = lt::alert_cast<lt::peer_connect_alert>(a)) {
        m_connected.insert(endpoint_string(c->endpoint));
    } else if (auto* te = lt::alert_cast<lt::tracker_error_alert>(a)) {
        std::string why = te->failure_reason()[0] ? te->failure_reason() : te->error.message();
        m_tracker_errors[te->tracker_url()] = why;
    } else if (auto* tr = lt::alert_cast<lt::tracker_reply_alert>(a)) {
        m_tracker_errors[tr->tracker_url()] = "it answered with " + std::to_string(tr->num_peers) + " peers";
    } else if (lt::alert_cast<lt::hash_failed_alert>(a)) {
        ++m_hash_failures;
    } else if (auto* b = lt::alert_cast<lt::peer_ban_alert>(a)) {
        m_banned.insert(endpoint_string(b->endpoint));
    } else if (auto* gp = lt::alert_cast<lt::dht_get_peers_reply_alert>(a)) {
        for (auto& i : m_items)
            if (!i.done && i.handle.is_valid() && i.dht_hash == gp->info_hash)
                for (const auto& ep : gp->peers())
                    if (ep != m_s.listen_endpoint()) i.handle.connect_peer(ep);
    }
}

void Transfer::request_updates() {
    m_s.native().post_torrent_updates(lt::torrent_handle::query_pieces);
}

void Transfer::refresh() {
    if (m_by_handle.empty()) return;
    auto all = m_s.native().get_torrent_status(
        [this](const lt::torrent_status& st) { return m_by_handle.count(st.handle) > 0; },
        lt::torrent_handle::query_pieces);
    for (const auto& st : all) apply(st);
}

void Transfer::apply(const lt::torrent_status& st) {
    Item* ip = find(st.handle);
    if (!ip || !ip->handle.is_valid()) return;
    Item& i = *ip;
    i.traffic.payload = st.total_payload_download;
    i.traffic.received = st.total_download;
    i.traffic.uploaded = st.total_payload_upload;
    i.peers = st.num_peers;
    i.has_metadata = st.has_metadata;
    if (!st.has_metadata) return;
    i.verified = static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_wanted_done));
    if (!i.wanted) {
        i.have_whole = st.pieces;  // for the timeout's message only (`have` keeps meaning "of a fetch in stages")
        if (st.is_seeding) i.done = true;
        return;
    }
    i.have = st.pieces;
    bool all = true;
    for (std::size_t p = 0; p < i.wanted->size() && all; ++p)
        if ((*i.wanted)[p] && (static_cast<int>(p) >= i.have.size() || !i.have.get_bit(lt::piece_index_t(static_cast<int>(p)))))
            all = false;
    i.done = all;
}

// Missing wanted pieces of `i` as of its last status (all of its wanted pieces when it has no metadata yet).
std::vector<int> missing_pieces(const Item& i) {
    std::vector<int> out;
    const auto& have = i.wanted ? i.have : i.have_whole;
    int n = have.size();
    if (i.wanted) n = std::max<int>(n, static_cast<int>(i.wanted->size()));
    for (int p = 0; p < n; ++p) {
        if (i.wanted && (static_cast<std::size_t>(p) >= i.wanted->size() || !(*i.wanted)[static_cast<std::size_t>(p)]))
            continue;
        if (p >= have.size() || !have.get_bit(lt::piece_index_t(p))) out.push_back(p);
    }
    return out;
}

void Transfer::note_missing(bool all) {
    std::size_t looked = 0;
    for (auto& i : m_items) {
        if (i.done || i.parked || !i.handle.is_valid() || !i.has_metadata || i.peers == 0) continue;
        auto& last = m_last_verified[&i];
        bool stalled = last == i.verified;
        last = i.verified;
        if (!all && (!stalled || ++looked > 8)) continue;  // a few blocking calls a second at most, none while moving
        auto missing = missing_pieces(i);
        if (missing.empty()) continue;
        std::vector<lt::peer_info> peers;
        i.handle.get_peer_info(peers);
        for (const auto& pi : peers) {
            if (pi.pieces.size() == 0) continue;  // no bitfield yet
            std::size_t lacks = 0;
            for (int p : missing)
                if (p >= pi.pieces.size() || !pi.pieces.get_bit(lt::piece_index_t(p))) ++lacks;
            std::string ep = endpoint_string(pi.ip);
            auto it = m_lacks.find(ep);
            if (lacks == 0) {
                if (it != m_lacks.end() && it->second.pack == i.name) m_lacks.erase(it);  // it has them now
                continue;
            }
            if (it == m_lacks.end() || it->second.pack == i.name) m_lacks[ep] = Lack{lacks, i.name};
        }
    }
}

void Transfer::timeout(bool have_commit) {
    refresh();
    note_missing(true);
    std::string peers;
    for (const auto& p : m_opts.peers) {
        std::string ep = endpoint_string(p);
        auto err = m_peer_errors.find(ep);
        auto lack = m_lacks.find(ep);
        peers += (peers.empty() ? "" : ", ") + ep;
        if (m_banned.count(ep)) peers += " (banned: it sent pieces that failed verification)";
        else if (lack != m_lacks.end())
            peers += " (it does not have " + std::to_string(lack->second.pieces) + " of the missing pieces of " +
                     lack->second.pack + ")";
        else if (err != m_peer_errors.end()) peers += " (" + err->second + ")";
        else if (m_connected.count(ep)) peers += " (connected)";
    }
    for (const auto& t : m_opts.trackers) {
        peers += (peers.empty() ? "tracker " : ", tracker ") + t;
        if (auto e = m_tracker_errors.find(t); e != m_tracker_errors.end()) peers += " (" + e->second + ")";
    }
    if (m_opts.dht.enabled) peers += (peers.empty() ? "" : ", ") + std::string("DHT");
    if (m_opts.lsd) peers += (peers.empty() ? "" : ", ") + std::string("LAN discovery");
    if (!m_opts.web_seeds.empty()) peers += (peers.empty() ? "" : ", ") + std::string("mirrors");
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_deadline - m_start).count();
    std::string msg;
    if (!have_commit) {
        msg = "no peer delivered commit " + m_commit.hex() + " within " + std::to_string(secs) + " s";
    } else {
        std::uint64_t total = m_pending_bytes;
        for (const auto& i : m_items) total += i.wanted ? i.wanted_bytes : i.length;
        msg = "timed out after " + std::to_string(secs) + " s with " + amount_of(payload_done(), total) +
              " of commit " + m_commit.hex().substr(0, 12) + " received";
        // what is missing, from the pieces (the same words whatever the peers did with their connections)
        std::size_t pieces = 0, packs = 0;
        std::string first;
        for (const auto& i : m_items) {
            if (i.done || !i.has_metadata) continue;
            auto m = missing_pieces(i);
            if (m.empty()) continue;
            pieces += m.size();
            if (packs++ == 0) first = i.name;
        }
        if (pieces)
            msg += "; " + std::to_string(pieces) + (pieces == 1 ? " piece" : " pieces") + " of " +
                   (packs == 1 ? first : std::to_string(packs) + " torrents") + " still missing";
        if (!m_pending.empty())
            msg += "; " + std::to_string(m_pending.size()) + " packs not started";
    }
    msg += " (peers: " + peers + ")";
    if (m_hash_failures) msg += "; " + std::to_string(m_hash_failures) + " pieces failed verification";
    throw Error(ErrorKind::no_peers, msg);
}

}  // namespace dvt::transport
