#include "transport/dht.hpp"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/kademlia/item.hpp>
#include <libtorrent/session.hpp>

#include <algorithm>
#include <sstream>

#include "util/error.hpp"
#include "util/http.hpp"

namespace dvt::transport {

using Clock = std::chrono::steady_clock;

void enable_dht(SwarmSession& s, const DhtOptions& o) {
    if (!o.enabled) return;
    const auto& nodes = o.bootstrap.empty() ? public_bootstrap_nodes() : o.bootstrap;
    std::string list;
    bool all_private = !o.bootstrap.empty();
    for (const auto& n : nodes) {
        list += (list.empty() ? "" : ",") + n;
        lt::error_code ec;
        auto colon = n.rfind(':');
        std::string host = n.substr(0, colon);
        if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
        auto a = lt::make_address(host, ec);
        if (ec || !(a.is_loopback() || (a.is_v4() && ((a.to_v4().to_uint() >> 24) == 10 ||
                                                       (a.to_v4().to_uint() >> 20) == (172u << 4 | 1) ||
                                                       (a.to_v4().to_uint() >> 16) == (192u << 8 | 168)))))
            all_private = false;
    }
    lt::settings_pack p;
    // public routers bootstrap the public DHT; private nodes are added as ordinary nodes (SwarmSession::reseed_dht)
    p.set_str(lt::settings_pack::dht_bootstrap_nodes, all_private ? "" : list);
    if (all_private) {
        std::vector<Endpoint> eps;
        for (const auto& n : nodes) {
            try {
                eps.push_back(parse_endpoint(n, "bootstrap node", false));
            } catch (const Error&) {
            }
        }
        s.set_dht_nodes(eps);
        // a private DHT on one host or LAN: every node may share a /24 (127.0.0.0/24 in tests)
        p.set_bool(lt::settings_pack::dht_restrict_routing_ips, false);
        p.set_bool(lt::settings_pack::dht_restrict_search_ips, false);
        // libtorrent bans, for dht_block_timeout (5 min), an IP that sends more than dht_block_ratelimit (5) packets a
        // second averaged over 10 s. In a private DHT of a few nodes every lookup and put goes to the same nodes, and
        // the processes of one host (a server, its fetch sessions, a push) share an IP: one push, or a follower that
        // looks for new versions every second, crossed the limit, and every later query from that IP then waited for
        // the 15 s timeout (measured: a second push from the same address took 15.3 s instead of 0.2 s).
        p.set_int(lt::settings_pack::dht_block_ratelimit, 10000);
        // a node that stops answering (a process that ended) is dropped after 2 timeouts, not 20: on one host or
        // a LAN a lost packet is rare, and each lookup that reaches a dead node waits 15 s for it
        p.set_int(lt::settings_pack::dht_max_fail_count, 2);
    }
    // each torrent is announced when it starts and then every announce interval (default 15 min): 2 min keeps a
    // swarm that changes (new versions, peers coming and going) findable
    p.set_int(lt::settings_pack::dht_announce_interval, 120);
    p.set_bool(lt::settings_pack::dht_read_only, o.read_only);
    // get_peers answers (dht_get_peers_reply_alert) for lookups made with session::dht_get_peers
    p.set_int(lt::settings_pack::alert_mask, SwarmSession::settings(s.listen_endpoint()).get_int(lt::settings_pack::alert_mask) |
                                                 static_cast<int>(lt::alert_category::dht_operation));
    p.set_bool(lt::settings_pack::enable_dht, true);
    s.native().apply_settings(std::move(p));
    s.reseed_dht();
}

void wait_dht_ready(SwarmSession& s, std::chrono::milliseconds timeout, const std::function<bool()>& interrupted) {
    auto deadline = Clock::now() + timeout;
    auto next_stats = Clock::now();
    auto next_seed = Clock::now() + std::chrono::milliseconds(200);
    while (Clock::now() < deadline) {
        if (Clock::now() >= next_stats) {
            s.native().post_dht_stats();
            next_stats = Clock::now() + std::chrono::milliseconds(100);
        }
        if (Clock::now() >= next_seed) {
            s.reseed_dht();
            next_seed = Clock::now() + std::chrono::milliseconds(500);
        }
        bool ready = false;
        s.poll(std::chrono::milliseconds(50), [&](lt::alert* a) {
            if (auto* st = lt::alert_cast<lt::dht_stats_alert>(a))
                for (const auto& b : st->routing_table)
                    if (b.num_nodes > 0) ready = true;
        });
        if (ready) return;
        if (interrupted && interrupted()) throw Error(ErrorKind::no_peers, "interrupted");
    }
    throw Error(ErrorKind::no_peers, "no DHT node answered within " + std::to_string(timeout.count() / 1000) +
                                         " s (check --bootstrap and the network)");
}

lt::entry ref_value(const Hash32& commit) {
    lt::entry e(lt::entry::dictionary_t);
    e["c"] = std::string(reinterpret_cast<const char*>(commit.bytes.data()), 32);
    e["v"] = 1;
    return e;
}

std::optional<Hash32> decode_ref_value(const lt::entry& v) {
    if (v.type() != lt::entry::dictionary_t) return std::nullopt;
    const auto* c = v.find_key("c");
    const auto* ver = v.find_key("v");
    if (!c || !ver || c->type() != lt::entry::string_t || ver->type() != lt::entry::int_t || ver->integer() != 1)
        return std::nullopt;
    const std::string& s = c->string();
    if (s.size() != 32) return std::nullopt;
    Hash32 h = Hash32::from_bytes({reinterpret_cast<const std::uint8_t*>(s.data()), 32});
    if (h == Hash32{}) return std::nullopt;
    return h;
}

lt::entry ref_list_value(const std::vector<std::string>& names) {
    lt::entry e(lt::entry::dictionary_t);
    lt::entry::list_type l;
    for (const auto& n : names) l.emplace_back(n);
    e["r"] = l;
    e["v"] = 1;
    return e;
}

std::optional<std::vector<std::string>> decode_ref_list(const lt::entry& v) {
    if (v.type() != lt::entry::dictionary_t) return std::nullopt;
    const auto* r = v.find_key("r");
    const auto* ver = v.find_key("v");
    if (!r || !ver || r->type() != lt::entry::list_t || ver->type() != lt::entry::int_t || ver->integer() != 1)
        return std::nullopt;
    std::vector<std::string> out;
    for (const auto& n : r->list()) {
        if (n.type() != lt::entry::string_t || n.string().empty() || n.string().size() > 64) return std::nullopt;
        out.push_back(n.string());
    }
    return out;
}

std::vector<std::pair<std::string, lt::entry>> ref_items(const std::vector<std::pair<std::string, Hash32>>& refs,
                                                        const std::string& mirror_url, std::vector<std::string>* skipped) {
    std::vector<std::pair<std::string, lt::entry>> items;
    std::vector<std::string> names;
    for (const auto& [name, id] : refs) {
        if (name.size() > 64) {
            if (skipped) skipped->push_back(name);
            continue;
        }
        lt::entry v = ref_value(id);
        if (!mirror_url.empty()) v["w"] = lt::entry::list_type{lt::entry(mirror_url)};
        items.emplace_back(name, v);
        names.push_back(name);
    }
    items.emplace_back(kRefListSalt, ref_list_value(names));
    return items;
}

std::vector<std::string> record_web_seeds(const lt::entry& value) {
    std::vector<std::string> out;
    if (value.type() != lt::entry::dictionary_t) return out;  // find_key would throw on a list, string or integer
    if (const auto* w = value.find_key("w"); w && w->type() == lt::entry::list_t)
        for (const auto& u : w->list())
            if (u.type() == lt::entry::string_t && util::is_http_url(u.string())) out.push_back(u.string());
    return out;
}


std::string signed_bytes(const std::string& salt, std::int64_t seq, const std::string& bencoded_value) {
    std::string out;
    if (!salt.empty()) out += "4:salt" + std::to_string(salt.size()) + ":" + salt;
    out += "3:seqi" + std::to_string(seq) + "e1:v" + bencoded_value;
    return out;
}

bool verify_record(const PublicKey& pk, const std::string& salt, std::int64_t seq,
                   const std::string& bencoded_value, const lt::dht::signature& sig) {
    std::string msg = signed_bytes(salt, seq, bencoded_value);
    return lt::dht::ed25519_verify(sig, {msg.data(), static_cast<std::ptrdiff_t>(msg.size())}, to_lt(pk));
}

static std::string bencoded(const lt::entry& e) {
    std::string out;
    lt::bencode(std::back_inserter(out), e);
    return out;
}

Choice choose_answer(const PublicKey& pk, const std::string& salt, const std::vector<Answer>& answers,
                     const std::function<bool(const lt::entry&)>& valid_value) {
    Choice c;
    for (const auto& a : answers) {
        if (a.item.type() == lt::entry::undefined_t) continue;  // "not found" from a node
        std::string where = "DHT record " + salt + " (seq " + std::to_string(a.seq) + ")";
        if (a.key != pk.bytes || a.salt != salt) {
            c.warnings.push_back(where + " answers for another key or name: ignored");
            continue;
        }
        if (!verify_record(pk, salt, a.seq, bencoded(a.item), lt::dht::signature(a.signature.data()))) {
            c.warnings.push_back(where + " has a bad signature: ignored");
            continue;
        }
        if (!valid_value(a.item)) {
            c.warnings.push_back(where + " does not hold a valid value: ignored");
            continue;
        }
        if (!c.best || a.seq > c.best->seq) {
            if (c.best && c.best->item != a.item)
                c.warnings.push_back("DHT record " + salt + ": seq " + std::to_string(c.best->seq) +
                                     " superseded by seq " + std::to_string(a.seq));
            c.best = a;
        } else if (a.seq < c.best->seq) {
            c.warnings.push_back(where + " is older than seq " + std::to_string(c.best->seq) + " (replayed): ignored");
        }
    }
    return c;
}

std::vector<Published> put_items(SwarmSession& s, const PublisherKey& key,
                                 const std::vector<std::pair<std::string, lt::entry>>& items,
                                 std::chrono::milliseconds timeout, const std::function<bool()>& interrupted) {
    std::vector<Published> out;
    std::map<std::string, std::size_t> pending;
    for (const auto& [salt, value] : items) {
        if (salt.size() > 64) throw Error(ErrorKind::usage, "ref name '" + salt + "' is longer than 64 bytes");
        std::string b = bencoded(value);
        if (b.size() > 1000) throw Error(ErrorKind::usage, "DHT record '" + salt + "' would exceed 1000 bytes");
        PublisherKey k = key;
        lt::entry v = value;
        s.native().dht_put_item(
            key.pk.bytes,
            [k, v](lt::entry& e, std::array<char, 64>& sig, std::int64_t& seq, const std::string& salt_) {
                e = v;
                auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
                seq = std::max<std::int64_t>(seq + 1, now_ms);
                std::string bv = bencoded(e);
                sig = lt::dht::sign_mutable_item({bv.data(), static_cast<std::ptrdiff_t>(bv.size())},
                                                 {salt_.data(), static_cast<std::ptrdiff_t>(salt_.size())},
                                                 lt::dht::sequence_number(seq), to_lt(k.pk), to_lt(k.sk))
                          .bytes;
            },
            salt);
        pending[salt] = out.size();
        out.push_back(Published{salt, 0, 0});
    }
    auto deadline = Clock::now() + timeout;
    std::size_t done = 0;
    while (done < out.size() && Clock::now() < deadline) {
        if (interrupted && interrupted()) throw Error(ErrorKind::no_peers, "interrupted");
        s.poll(std::chrono::milliseconds(50), [&](lt::alert* a) {
            if (auto* p = lt::alert_cast<lt::dht_put_alert>(a)) {
                auto it = pending.find(p->salt);
                if (it == pending.end() || p->public_key != key.pk.bytes) return;
                out[it->second].seq = p->seq;
                out[it->second].nodes = p->num_success;
                pending.erase(it);
                ++done;
            }
        });
    }
    if (done < out.size())
        throw Error(ErrorKind::no_peers, "publishing to the DHT did not complete within " +
                                             std::to_string(timeout.count() / 1000) + " s");
    return out;
}

void republish(SwarmSession& s, const Answer& a) {
    lt::entry item = a.item;
    auto sig = a.signature;
    std::int64_t seq = a.seq;
    s.native().dht_put_item(
        a.key,
        [item, sig, seq](lt::entry& e, std::array<char, 64>& sig_out, std::int64_t& seq_out, const std::string&) {
            e = item;
            sig_out = sig;
            seq_out = seq;
        },
        a.salt);
}

std::optional<Answer> get_item(SwarmSession& s, const PublicKey& pk, const std::string& salt,
                               const std::function<bool(const lt::entry&)>& valid_value,
                               std::chrono::milliseconds window, std::chrono::milliseconds timeout,
                               const std::function<void(const std::string&)>& warn) {
    s.native().dht_get_item(pk.bytes, salt);
    std::vector<Answer> answers;
    auto deadline = Clock::now() + timeout;
    std::optional<Clock::time_point> settle;
    bool authoritative = false;
    auto retry = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline && !(settle && Clock::now() >= *settle) && !authoritative) {
        s.poll(std::chrono::milliseconds(50), [&](lt::alert* a) {
            auto* m = lt::alert_cast<lt::dht_mutable_item_alert>(a);
            if (!m || m->key != pk.bytes || m->salt != salt) return;
            Answer ans{m->key, m->signature, m->seq, m->salt, m->item, m->authoritative};
            answers.push_back(ans);
            if (ans.item.type() != lt::entry::undefined_t && !settle) settle = Clock::now() + window;
            if (m->authoritative) authoritative = true;
        });
        if (!settle && Clock::now() >= retry) {  // nodes may have joined since: ask again
            s.native().dht_get_item(pk.bytes, salt);
            retry = Clock::now() + std::chrono::seconds(3);
        }
    }
    auto c = choose_answer(pk, salt, answers, valid_value);
    if (warn)
        for (const auto& w : c.warnings)
            if (w.find("superseded") == std::string::npos) warn(w);
    return c.best;
}

ResolvedRef resolve_ref(SwarmSession& s, const PublicKey& pk, const std::string& ref,
                        std::chrono::milliseconds timeout, const std::function<void(const std::string&)>& warn) {
    auto a = get_item(
        s, pk, ref, [](const lt::entry& v) { return decode_ref_value(v).has_value(); }, std::chrono::milliseconds(1500),
        timeout, warn);
    if (!a)
        throw Error(ErrorKind::not_found, "no such ref: dvt://" + public_hex(pk) + " publishes no valid '" + ref +
                                              "' in the DHT (looked for " + std::to_string(timeout.count() / 1000) +
                                              " s)");
    return ResolvedRef{*decode_ref_value(a->item), a->seq, *a};
}

}  // namespace dvt::transport
