#include "sim/scenario.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "sim/personas.hpp"

namespace dg::sim {

namespace json = boost::json;

void add_standard_population(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  Rng nat_rng = pop.next_stream();
  if (pop.shared_nat.empty()) {
    const std::string base = random_public_ipv4(nat_rng);
    for (int i = 0; i < 4; ++i) pop.shared_nat.push_back(same_slash24(base, nat_rng));
  }
  for (int i = 0; i < opts.benign; ++i)
    pop.add(make_benign_persona(data, pop.next_stream(), pop.shared_nat, opts.volume_scale));
  for (auto kind : kLookalikeKinds)
    for (int i = 0; i < opts.lookalikes; ++i)
      pop.add(make_lookalike_persona(kind, data, pop.next_stream(), opts.volume_scale));
  for (int i = 0; i < opts.distillers; ++i)
    pop.add(make_distiller_persona(kDistillerKinds[static_cast<std::size_t>(i) % std::size(kDistillerKinds)], data,
                                   pop.next_stream(), opts.volume_scale));
}

GenerateStats generate(const ScenarioOptions& opts, const DataSet& data, Population& pop, std::ostream& traffic,
                       std::ostream& labels) {
  const SimContext ctx{data, opts.start, opts.end()};
  struct Arrival {
    std::int64_t ms;  // quantised to what is written, so ordering matches the file
    std::uint32_t persona;
  };
  std::vector<Arrival> arrivals;
  auto& personas = pop.personas();
  for (std::uint32_t i = 0; i < personas.size(); ++i) {
    for (double t : personas[i]->schedule(ctx)) {
      if (t < ctx.start || t >= ctx.end) continue;
      arrivals.push_back({static_cast<std::int64_t>(std::llround(t * 1000)), i});
    }
  }
  std::stable_sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) {
    return a.ms != b.ms ? a.ms < b.ms : a.persona < b.persona;
  });

  GenerateStats stats;
  std::map<std::string, KeyClass> class_of;
  json::object label_json;
  for (const auto& p : personas) {
    for (auto& [key, label] : p->labels()) {
      json::object l;
      l["class"] = to_string(label.cls);
      l["persona"] = label.persona;
      if (!label.campaign.empty()) l["campaign"] = label.campaign;
      if (!label.group.empty()) l["group"] = label.group;
      label_json[key] = std::move(l);
      class_of[key] = label.cls;
    }
  }
  stats.keys = label_json.size();

  // First arrival and number of requests of every key: the labels carry
  // them, so that evaluation can time campaigns from their real start.
  struct Seen {
    double first_ts = 0;
    std::uint64_t requests = 0;
    std::string endpoint;  ///< path of the first request
  };
  std::map<std::string, Seen> seen;
  std::string buf;
  buf.reserve(1 << 20);
  for (const auto& a : arrivals) {
    SimRecord r = personas[a.persona]->render(static_cast<double>(a.ms) / 1000.0, ctx);
    r.ts = static_cast<double>(a.ms) / 1000.0;
    append_record_line(r, buf);
    ++stats.records;
    auto [sit, fresh] = seen.try_emplace(r.key);
    if (fresh) {
      sit->second.first_ts = r.ts;
      sit->second.endpoint = r.path;
    }
    ++sit->second.requests;
    const auto it = class_of.find(r.key);
    ++stats.records_by_class[std::string(to_string(it == class_of.end() ? KeyClass::Benign : it->second))];
    if (buf.size() > (1 << 20)) {
      traffic.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      stats.bytes += buf.size();
      buf.clear();
    }
  }
  traffic.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  stats.bytes += buf.size();
  for (auto& [key, l] : label_json) {
    if (auto it = seen.find(key); it != seen.end()) {
      char ts[48];
      std::snprintf(ts, sizeof ts, "%.3f", it->second.first_ts);
      l.as_object()["first_ts"] = std::strtod(ts, nullptr);
      l.as_object()["requests"] = it->second.requests;
      l.as_object()["endpoint"] = it->second.endpoint;
    } else {
      l.as_object()["requests"] = 0;
    }
  }
  labels << json::serialize(label_json) << "\n";
  return stats;
}

GenerateStats generate_scenario(const std::string& name, const ScenarioOptions& opts, const DataSet& data,
                                std::ostream& traffic, std::ostream& labels) {
  const ScenarioEntry* entry = find_scenario(name);
  if (!entry) throw std::invalid_argument("unknown scenario '" + name + "'");
  Population pop(opts.seed);
  entry->build(opts, data, pop);
  return generate(opts, data, pop, traffic, labels);
}

}  // namespace dg::sim
