#include "transport/torrent_files.hpp"

#include <libtorrent/load_torrent.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/write_resume_data.hpp>

#include "objects/torrent_id.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

// A pack not held here complete: the torrent from its info dict alone (clients fetch the piece layer from peers).
lt::add_torrent_params info_only_params(const objects::PackRef& p) {
    Bytes t = objects::torrent_file(objects::pack_torrent_name(p.id), p.length, p.id,
                                    objects::pack_piece_length(p.length), {});
    lt::add_torrent_params atp;
    try {
        atp = lt::load_torrent_buffer({reinterpret_cast<const char*>(t.data()), static_cast<std::ptrdiff_t>(t.size())});
    } catch (const std::exception& e) {
        // the commit names a length no torrent can have (its packs were checked when it was stored, so: a bug)
        throw Error(ErrorKind::corrupt, "pack " + p.id.hex() + " of length " + std::to_string(p.length) +
                                            " has no valid torrent: " + e.what());
    }
    if (!atp.ti || from_lt(atp.ti->info_hashes().v2) != objects::pack_info_hash(p.id, p.length))
        throw Error(ErrorKind::internal, "the info-hash libtorrent computes for pack " + p.id.hex() +
                                             " differs from dvt's swarm identity");
    return atp;
}

}  // namespace

TorrentFiles write_torrent_files(core::Repository& repo, const Hash32& commit, const fs::path& out,
                                 const TorrentFileOptions& opts) {
    auto& store = repo.store();
    auto c = store.read_commit(commit);  // verified against its id
    if (!c) throw Error(ErrorKind::not_found, "commit " + commit.hex() + " is not in this repository");
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw Error(ErrorKind::io, "cannot create " + out.string() + ": " + ec.message());

    TorrentFiles res;
    res.commit = commit;
    auto emit = [&](lt::add_torrent_params atp, TorrentFile tf, const std::string& seed_path) {
        // what a stock client needs besides the info dict; none of it is in the info dict, so no info-hash changes
        atp.save_path.clear();
        atp.renamed_files.clear();
        atp.have_pieces.clear();
        atp.trackers = opts.trackers;
        atp.tracker_tiers.clear();
        atp.url_seeds.clear();
        for (const auto& w : opts.web_seeds) atp.url_seeds.push_back((w.ends_with('/') ? w : w + "/") + seed_path);
        atp.peers.clear();
        std::vector<char> buf;
        try {
            buf = lt::write_torrent_file_buf(atp, tf.complete ? lt::write_torrent_flags_t{}
                                                              : lt::write_flags::allow_missing_piece_layer);
        } catch (const std::exception& e) {
            throw Error(ErrorKind::internal, "libtorrent cannot write the torrent of " + tf.kind + " " + tf.id.hex() +
                                                 ": " + e.what());
        }
        tf.file = out / (tf.id.hex() + ".torrent");
        util::atomic_write_file(tf.file, std::string_view(buf.data(), buf.size()));
        atp.peers = opts.peers;
        tf.magnet = lt::make_magnet_uri(atp);
        // libtorrent 2.0.8 leaves out the name of a v2 torrent; the names are hex digits, '-' and '.' (no escaping)
        if (!tf.magnet.empty() && tf.magnet.find("&dn=") == std::string::npos) tf.magnet += "&dn=" + tf.name;
        res.torrents.push_back(std::move(tf));
    };

    {
        TorrentFile tf;
        tf.kind = "commit";
        tf.id = commit;
        tf.info_hash = commit;
        tf.name = objects::kCommitTorrentName;
        auto atp = commit_seed_params(store, commit);  // re-hashed into its id; info-hash checked
        tf.length = static_cast<std::uint64_t>(atp.ti->files().file_size(lt::file_index_t{0}));  // not total_size: pad files
        emit(std::move(atp), std::move(tf), "commits/" + commit.hex() + "/");
    }
    for (const auto& p : c->packs) {
        TorrentFile tf;
        tf.kind = "pack";
        tf.id = p.id;
        tf.info_hash = objects::pack_info_hash(p.id, p.length);
        tf.name = objects::pack_torrent_name(p.id);
        tf.length = p.length;
        auto info = store.pack_by_id(p.id);
        tf.complete = info && !info->partial && info->ref.length == p.length;
        auto atp = tf.complete ? pack_seed_params(store, *info) : info_only_params(p);
        emit(std::move(atp), std::move(tf), "packs/");
    }
    return res;
}

}  // namespace dvt::transport
