// simulator.cpp: a small reaction simulator in C++ behind extern "C"
// functions (see FaultlineSimulator.h). The bugs are the ordinary kind:
// an index from the input used without a bounds check, and a lookup that
// returns nullptr used without a check.
#include "FaultlineSimulator.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Species {
    std::string name;
    double amount;
};

struct Reaction {
    Species *left;
    Species *right;
    Species *product;
    double rate;
};

class Network {
public:
    Network() {
        const char *names[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
        for (int i = 0; i < 8; i++) species_.push_back(Species{names[i], i < 2 ? 1.0 : 0.0});
    }

    // The bug: no bounds check on the number from the input.
    Species *byNumber(long number) { return &species_.data()[number]; }

    Species *byName(const std::string &name) {
        for (auto &species : species_) {
            if (species.name == name) return &species;
        }
        return nullptr;
    }

    Species *parseSpecies(const std::string &token) {
        if (!token.empty() && token[0] == '#') return byNumber(std::strtol(token.c_str() + 1, nullptr, 10));
        return byName(token);
    }

    double reference() const { return species_[0].amount; }

private:
    std::vector<Species> species_;
};

std::unique_ptr<Network> network;

std::vector<std::string> split(const std::string &text, char separator) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(separator, start);
        if (end == std::string::npos) end = text.size();
        if (end > start) parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

}  // namespace

extern "C" int fl_sim_init(void) {
    network = std::make_unique<Network>();
    return 0;
}

extern "C" int32_t fl_sim_run(const char *program, double steps, void *out, size_t capacity) {
    if (!network) return -2;
    std::string text(program);
    if (text.empty()) return -1;
    // Each run starts from the state init set up (a copy: runs do not see each other).
    Network local = *network;
    std::vector<Reaction> reactions;
    for (const auto &item : split(text, ';')) {
        // "X+Y>Z:rate"
        size_t arrow = item.find('>');
        size_t plus = item.find('+');
        size_t colon = item.find(':');
        if (arrow == std::string::npos || plus == std::string::npos || plus > arrow) continue;
        Reaction reaction{};
        reaction.left = local.parseSpecies(item.substr(0, plus));
        reaction.right = local.parseSpecies(item.substr(plus + 1, arrow - plus - 1));
        reaction.product = local.parseSpecies(item.substr(arrow + 1, colon == std::string::npos ? std::string::npos : colon - arrow - 1));
        reaction.rate = colon == std::string::npos ? 1.0 : std::atof(item.c_str() + colon + 1);
        reactions.push_back(reaction);
    }
    int32_t applied = 0;
    for (int step = 0; step < static_cast<int>(steps); step++) {
        for (auto &reaction : reactions) {
            // Null pointer for an unknown name; far outside the table for a large "#N".
            double flux = reaction.rate * reaction.left->amount * reaction.right->amount * 0.1;
            reaction.left->amount -= flux;
            reaction.right->amount -= flux;
            reaction.product->amount += flux;
            applied++;
        }
    }
    std::string summary;
    for (auto &reaction : reactions) {
        for (Species *species : {reaction.left, reaction.right, reaction.product}) {
            char line[64];
            std::snprintf(line, sizeof line, "%s%s=%.4f", summary.empty() ? "" : " ", species->name.c_str(), species->amount);
            if (summary.find(species->name + "=") == std::string::npos) summary += line;
        }
    }
    if (capacity > 0) {
        size_t n = summary.size() < capacity - 1 ? summary.size() : capacity - 1;
        std::memcpy(out, summary.data(), n);
        static_cast<char *>(out)[n] = '\0';
    }
    return applied;
}

extern "C" double fl_sim_rate(double temperature, double ea) {
    if (!network) return 0;
    return network->reference() * 1e13 * std::exp(-ea / (8.314 * temperature));
}

extern "C" int32_t fl_sim_tokens(const char *program) {
    int32_t tokens = 0;
    bool inWord = false;
    for (const char *p = program; *p; p++) {
        bool word = std::isalnum(static_cast<unsigned char>(*p)) || *p == '#' || *p == '.';
        if (word && !inWord) tokens++;
        if (!word && *p != ' ') tokens++;
        inWord = word;
    }
    return tokens;
}

extern "C" int64_t fl_sim_checksum(const void *data, size_t length) {
    const uint8_t *bytes = static_cast<const uint8_t *>(data);
    int64_t sum = 0;
    for (size_t i = 0; i < length; i++) sum += bytes[i];
    return network ? static_cast<int64_t>(sum * network->reference()) : sum;
}
