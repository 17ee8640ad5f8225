#include "objects/tensor_layout.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace dvt::objects {

std::uint8_t dtype_width(std::string_view d) {
    if (d.empty() || d.size() > 16) return 0;
    for (char c : d)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
    if (d == "F32" || d == "I32" || d == "U32") return 4;
    if (d == "F64" || d == "I64" || d == "U64") return 8;
    return 1;
}

std::optional<std::uint64_t> safetensors_prefix_length(std::span<const std::uint8_t> first8, std::uint64_t file_size) {
    if (first8.size() < 8 || file_size < 10) return std::nullopt;
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | first8[static_cast<std::size_t>(i)];
    if (n < 2 || n > kMaxTensorHeader || n > file_size - 8) return std::nullopt;
    return 8 + n;
}

// Nesting depth of JSON text (brackets outside strings), so that nothing deeper than kMaxTensorJsonDepth reaches the
// JSON library: the check is iterative and bounded by the header length.
static bool shallow_json(std::span<const std::uint8_t> text) {
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (std::uint8_t c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' || c == '[') {
            if (++depth > kMaxTensorJsonDepth) return false;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return false;
            --depth;
        }
    }
    return !in_string && depth == 0;
}

std::optional<TensorLayout> parse_safetensors(std::span<const std::uint8_t> prefix, std::uint64_t file_size) {
    auto total = safetensors_prefix_length(prefix.first(std::min<std::size_t>(8, prefix.size())), file_size);
    if (!total || prefix.size() != *total) return std::nullopt;
    auto text = prefix.subspan(8);
    if (text.front() != '{' || !shallow_json(text)) return std::nullopt;
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    const std::uint64_t data_start = *total, data_len = file_size - data_start;
    std::vector<TensorRegion> tensors;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        if (tensors.size() >= kMaxTensors) return std::nullopt;
        const auto& t = it.value();
        if (!t.is_object()) return std::nullopt;
        auto dt = t.find("dtype");
        auto off = t.find("data_offsets");
        if (dt == t.end() || !dt->is_string() || off == t.end() || !off->is_array() || off->size() != 2)
            return std::nullopt;
        const auto& a = (*off)[0];
        const auto& b = (*off)[1];
        if (!a.is_number_unsigned() || !b.is_number_unsigned()) return std::nullopt;
        std::uint64_t ab = a.get<std::uint64_t>(), bb = b.get<std::uint64_t>();
        std::uint8_t w = dtype_width(dt->get_ref<const std::string&>());
        if (w == 0 || ab > bb || bb > data_len) return std::nullopt;
        if (ab == bb) continue;  // an empty tensor holds no bytes
        tensors.push_back(TensorRegion{data_start + ab, data_start + bb, w, it.key()});
    }
    std::sort(tensors.begin(), tensors.end(), [](const TensorRegion& x, const TensorRegion& y) {
        return x.begin < y.begin;
    });
    TensorLayout out;
    out.regions.reserve(2 * tensors.size() + 2);
    std::uint64_t at = 0;
    for (auto& t : tensors) {
        if (t.begin < at) return std::nullopt;  // overlapping tensors
        if (t.begin > at) out.regions.push_back(TensorRegion{at, t.begin, 0, {}});
        at = t.end;
        out.regions.push_back(std::move(t));
    }
    if (at < file_size) out.regions.push_back(TensorRegion{at, file_size, 0, {}});
    return out;
}

}  // namespace dvt::objects
