// Plumbing: dvt ls-tree, dvt cat-object, dvt rev-parse. They expose the object model as it is stored.
#include <unistd.h>

#include "cmd/cli.hpp"
#include "core/revision.hpp"
#include "core/tree.hpp"

namespace dvt::cmd {

using namespace dvt::objects;

void register_ls_tree(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev = "HEAD", path;
        bool recursive = false, nul = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("ls-tree", "List a tree: kind, id, size and name of each entry");
    sub->add_option("revision", a->rev, "Commit revision or tree id (default HEAD)");
    sub->add_option("path", a->path, "Directory inside the tree");
    sub->add_flag("-r,--recursive", a->recursive, "Recurse into subdirectories (files only)");
    sub->add_flag("-z", a->nul, "End each entry with NUL instead of a newline; names as they are (not quoted), no link targets");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        Hash32 tree;
        auto as_id = Hash32::from_hex(a->rev);
        if (as_id && !repo->store().has_commit(*as_id) && repo->store().has(*as_id))
            tree = *as_id;
        else
            tree = core::load_commit(*repo, core::resolve_commit(*repo, a->rev)).tree;
        std::string prefix = a->path;
        while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        if (!prefix.empty()) {
            std::size_t start = 0;
            while (start <= prefix.size()) {
                auto slash = prefix.find('/', start);
                std::string comp = prefix.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
                Tree t = repo->store().read_tree(tree);
                const auto* e = t.find(comp);
                if (!e || e->kind != EntryKind::directory)
                    throw Error(ErrorKind::not_found, "no directory '" + prefix + "' in " + a->rev);
                tree = e->id;
                if (slash == std::string::npos) break;
                start = slash + 1;
            }
        }
        nlohmann::json list = nlohmann::json::array();
        auto emit = [&](const std::string& path, EntryKind kind, std::uint64_t size, const Hash32& id,
                        const std::string& target) {
            if (ctx.json) {
                nlohmann::json j = {{"path", path}, {"kind", kind_name(kind)}, {"size", size}};
                if (kind == EntryKind::symlink) j["target"] = target;
                else j["id"] = id.hex();
                list.push_back(j);
            } else if (a->nul) {  // as git ls-tree -z: the name unquoted, NUL-terminated (a target would be ambiguous)
                *ctx.out << kind_name(kind) << " " << (kind == EntryKind::symlink ? std::string(64, '-') : id.hex())
                         << " " << size << "\t" << path << '\0';
            } else {
                *ctx.out << kind_name(kind) << " " << (kind == EntryKind::symlink ? std::string(64, '-') : id.hex())
                         << " " << size << "\t" << quote_name(path)
                         << (kind == EntryKind::symlink ? " -> " + quote_name(target) : "") << "\n";
            }
        };
        if (a->recursive) {
            for (const auto& [p, e] : core::flatten_tree(repo->store(), tree)) emit(p, e.kind, e.size, e.id, e.target);
        } else {
            for (const auto& e : repo->store().read_tree(tree).entries) emit(e.name, e.kind, e.size, e.id, e.target);
        }
        if (ctx.json) ctx.print_json({{"tree", tree.hex()}, {"entries", list}});
    });
}

void register_cat_object(CLI::App& app, Context& ctx) {
    struct Args {
        std::string id;
        bool type = false, size = false, pretty = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("cat-object", "Print a stored object (commit, tree, file manifest or chunk)");
    sub->add_option("id", a->id, "Object id (64 hex digits) or a commit revision")->required();
    sub->add_flag("-t", a->type, "Print the object's type");
    sub->add_flag("-s", a->size, "Print the object's size in bytes");
    sub->add_flag("-p", a->pretty, "Pretty-print trees and file manifests");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        Bytes raw;
        ObjectType type;
        Hash32 id;
        auto h = Hash32::from_hex(a->id);
        if (h && !repo->store().has_commit(*h)) {
            auto loc = repo->store().locate(*h);
            if (!loc) throw Error(ErrorKind::not_found, "object " + a->id + " not found");
            repo->store().read_at(*loc, raw);
            type = loc->entry.type;
            id = *h;
        } else {
            id = core::resolve_commit(*repo, a->id);
            raw = repo->store().read_commit_bytes(id);
            type = ObjectType::commit;
        }
        if (ctx.json) {
            nlohmann::json j = {{"id", id.hex()}, {"type", type_name(type)}, {"size", raw.size()}};
            if (type == ObjectType::tree) {
                nlohmann::json es = nlohmann::json::array();
                for (const auto& e : Tree::decode(raw).entries)
                    es.push_back({{"name", e.name}, {"kind", kind_name(e.kind)}, {"size", e.size},
                                  {"id", e.kind == EntryKind::symlink ? nlohmann::json(nullptr) : nlohmann::json(e.id.hex())},
                                  {"target", e.kind == EntryKind::symlink ? nlohmann::json(e.target) : nlohmann::json(nullptr)}});
                j["entries"] = es;
            } else if (type == ObjectType::file) {
                auto f = FileObject::decode(raw);
                nlohmann::json cs = nlohmann::json::array();
                for (const auto& c : f.chunks) cs.push_back({{"id", c.id.hex()}, {"size", c.size}});
                j["file_size"] = f.size;
                j["chunks"] = cs;
            } else if (type == ObjectType::commit) {
                j["commit"] = commit_json(id, Commit::decode(raw));
            }
            ctx.print_json(j);
            return;
        }
        auto& out = *ctx.out;
        if (a->type) {
            out << type_name(type) << "\n";
        } else if (a->size) {
            out << raw.size() << "\n";
        } else if (a->pretty && type == ObjectType::tree) {
            for (const auto& e : Tree::decode(raw).entries)
                out << kind_name(e.kind) << " " << (e.kind == EntryKind::symlink ? std::string(64, '-') : e.id.hex())
                    << " " << e.size << "\t" << quote_name(e.name)
                    << (e.kind == EntryKind::symlink ? " -> " + quote_name(e.target) : "") << "\n";
        } else if (a->pretty && type == ObjectType::file) {
            auto f = FileObject::decode(raw);
            out << "size " << f.size << "\nchunks " << f.chunks.size() << "\n";
            for (const auto& c : f.chunks) out << c.id.hex() << " " << c.size << "\n";
        } else {
            out.write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
        }
    });
}

void register_rev_parse(CLI::App& app, Context& ctx) {
    auto revs = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("rev-parse", "Print the full commit id of each revision");
    sub->add_option("revision", *revs, "Revisions")->required();
    sub->callback([revs, &ctx] {
        auto repo = ctx.open_repo();
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : *revs) {
            auto id = core::resolve_commit(*repo, r).hex();
            if (ctx.json) list.push_back({{"revision", r}, {"commit", id}});
            else *ctx.out << id << "\n";
        }
        if (ctx.json) ctx.print_json({{"revisions", list}});
    });
}

}  // namespace dvt::cmd
