#include "detectors/campaign_clustering.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include "detectors/campaign_format.hpp"

namespace dg::detectors::campaign {

namespace {

double jaccard(std::uint64_t a, std::uint64_t b) noexcept {
  auto u = std::popcount(a | b);
  return u == 0 ? 0.0 : static_cast<double>(std::popcount(a & b)) / u;
}

/// The upper median (the middle element once sorted) of a non-empty list.
double upper_median(std::vector<double> v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

template <class Key>
std::vector<std::pair<Key, std::size_t>> tally(const std::vector<Key>& values) {
  std::map<Key, std::size_t> counts;
  for (const auto& v : values) ++counts[v];
  std::vector<std::pair<Key, std::size_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

/// Whether two keys were used side by side: live together (a key is live
/// from its first to its last request) for at least half of the shorter
/// one's life. Keys used one after another are not, even when the outgoing
/// key keeps sending for a while after the next one starts (a customer
/// rotating its key on a schedule).
bool side_by_side(const Node& a, const Node& b) noexcept {
  const double overlap = std::min(a.last_seen, b.last_seen) - std::max(a.first_seen, b.first_seen);
  const double shorter = std::min(a.last_seen - a.first_seen, b.last_seen - b.first_seen);
  return overlap >= 0 && overlap >= 0.5 * shorter;
}

/// Whether any two of `keys` were used side by side. In order of first
/// request, each key is compared with the one before it and with the earlier
/// key that stayed live the longest: a succession has no such pair.
bool any_side_by_side(const std::vector<Node>& nodes, std::vector<std::uint32_t> keys) {
  std::sort(keys.begin(), keys.end(), [&](auto x, auto y) { return nodes[x].first_seen < nodes[y].first_seen; });
  for (std::size_t j = 1, longest = 0; j < keys.size(); ++j) {
    const auto& nd = nodes[keys[j]];
    if (side_by_side(nodes[keys[j - 1]], nd) || side_by_side(nodes[keys[longest]], nd)) return true;
    if (nd.last_seen > nodes[keys[longest]].last_seen) longest = j;
  }
  return false;
}

/// Marks the keys of a family that share a client network with another key
/// of the family, where the family holds at least network_min_family_share
/// of that network's keys (`nets`: the family's keys per network) and two of
/// them were used side by side: one client's keys used one after another
/// from its own network are a succession, not shared infrastructure.
void mark_shared_networks(std::vector<Node>& nodes, const Family& fam, std::map<std::uint64_t, std::size_t>& nets,
                          const std::unordered_map<std::uint64_t, std::size_t>& keys_per_net, const CampaignConfig& c,
                          std::vector<char>& mark) {
  std::map<std::uint64_t, std::vector<std::uint32_t>> on_net;
  for (auto i : fam.nodes)
    if (nodes[i].net.valid()) on_net[nodes[i].net.key()].push_back(i);
  std::map<std::uint64_t, bool> together;
  for (const auto& [net, keys] : on_net) together[net] = keys.size() >= 2 && any_side_by_side(nodes, keys);
  for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
    const auto& nd = nodes[fam.nodes[k]];
    if (!nd.net.valid() || !together[nd.net.key()]) continue;
    auto shared = nets[nd.net.key()];
    if (shared >= 2 && static_cast<double>(shared) >= c.network_min_family_share * static_cast<double>(keys_per_net.at(nd.net.key()))) {
      mark[k] = 1;
      nodes[fam.nodes[k]].via_network = true;
    }
  }
}

/// Timing: keys of a family whose start is known (see below) are grouped by
/// first request behind a leader, without chaining beyond
/// timing_sync_window_s, when their activity overlaps the leader's; groups of
/// two or more are marked and united.
void link_synchronized_starts(std::vector<Node>& nodes, const Family& fam, double first_event, const CampaignConfig& c,
                              std::vector<char>& mark, UnionFind& fuf) {
  const double warm = first_event + c.timing_warmup_s;
  std::vector<std::size_t> order;
  for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
    const auto& nd = nodes[fam.nodes[k]];
    // A first request says when a key started only if the key was not simply
    // running already when the linker started: well after the warmup and
    // after several of the key's own inter-arrival times.
    double gap = nd.requests > 1 ? (nd.last_seen - nd.first_seen) / (nd.requests - 1) : c.timing_warmup_s;
    if (nd.first_seen >= std::max(warm, first_event + c.timing_start_interarrivals * gap) &&
        std::popcount(nd.activity) >= c.timing_min_buckets)
      order.push_back(k);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return nodes[fam.nodes[a]].first_seen < nodes[fam.nodes[b]].first_seen;
  });
  std::vector<std::size_t> group;
  auto flush = [&] {
    if (group.size() >= 2)
      for (auto k : group) {
        mark[k] = 1;
        nodes[fam.nodes[k]].via_timing = true;
        fuf.unite(fam.nodes[group.front()], fam.nodes[k]);
      }
    group.clear();
  };
  for (auto k : order) {
    const auto& nd = nodes[fam.nodes[k]];
    if (!group.empty() && nd.first_seen - nodes[fam.nodes[group.front()]].first_seen <= c.timing_sync_window_s) {
      if (jaccard(nodes[fam.nodes[group.front()]].activity, nd.activity) >= c.timing_min_jaccard) group.push_back(k);
      continue;
    }
    flush();
    group.push_back(k);
  }
  flush();
}

/// Harvesting shape (families without shared networks or timing): when the
/// family has it, its single-shot keys are marked and united.
void link_harvesters(std::vector<Node>& nodes, const Family& fam, const CampaignConfig& c, std::vector<char>& mark,
                     UnionFind& fuf) {
  if (!harvesting_shape(nodes, fam.nodes, c)) return;
  std::uint32_t first = UINT32_MAX;
  for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
    auto& nd = nodes[fam.nodes[k]];
    if (!nd.single_shot_only) continue;
    mark[k] = 1;
    nd.via_harvest = true;
    if (first == UINT32_MAX) first = fam.nodes[k];
    else fuf.unite(first, fam.nodes[k]);
  }
}

/// Corroborated keys of one family form one campaign where they also agree
/// on something else: the same network, a timing group, the same parameter
/// vector or the same user agent. Two actors that happen to use one public
/// template from different networks with different clients stay apart.
void unite_agreeing(const std::vector<Node>& nodes, const Family& fam, const std::vector<char>& mark, UnionFind& fuf) {
  std::unordered_map<std::uint64_t, std::uint32_t> by_net, by_params, by_agent;
  auto join = [&](std::unordered_map<std::uint64_t, std::uint32_t>& index, std::uint64_t value, std::uint32_t node) {
    if (value == 0) return;
    auto [it, fresh] = index.try_emplace(value, node);
    if (!fresh) fuf.unite(it->second, node);
  };
  for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
    if (!mark[k]) continue;
    const auto i = fam.nodes[k];
    if (nodes[i].via_network) join(by_net, nodes[i].net.key(), i);
    join(by_params, nodes[i].params, i);
    join(by_agent, nodes[i].agent, i);
  }
}

/// Corroboration inside one family (see corroborate()); true when the family
/// is generic (spread over so many networks that sharing one says nothing).
bool corroborate_family(std::vector<Node>& nodes, const Family& fam,
                        const std::unordered_map<std::uint64_t, std::size_t>& keys_per_net, double first_event,
                        const CampaignConfig& c, UnionFind& fuf) {
  std::map<std::uint64_t, std::size_t> nets;
  std::size_t with_net = 0;
  for (auto i : fam.nodes)
    if (nodes[i].net.valid()) {
      ++nets[nodes[i].net.key()];
      ++with_net;
    }
  const bool is_generic = nets.size() >= c.generic_min_networks &&
                          static_cast<double>(nets.size()) >= c.generic_network_spread * static_cast<double>(with_net);
  std::vector<char> mark(fam.nodes.size(), 0);  // corroborated keys of the family
  if (!is_generic) mark_shared_networks(nodes, fam, nets, keys_per_net, c, mark);
  link_synchronized_starts(nodes, fam, first_event, c, mark, fuf);
  link_harvesters(nodes, fam, c, mark, fuf);
  unite_agreeing(nodes, fam, mark, fuf);
  return is_generic;
}

/// The most of `keys` live at one time, a key being live from its first to
/// its last request.
std::size_t peak_live_keys(const std::vector<Node>& nodes, const std::vector<std::uint32_t>& keys) {
  std::vector<std::pair<double, int>> edges;  // (time, -1 start or +1 end): a start sorts before an end at a tie
  edges.reserve(2 * keys.size());
  for (auto i : keys) {
    edges.emplace_back(nodes[i].first_seen, -1);
    edges.emplace_back(nodes[i].last_seen, 1);
  }
  std::sort(edges.begin(), edges.end());
  std::size_t live = 0, peak = 0;
  for (const auto& [t, e] : edges) {
    if (e < 0) peak = std::max(peak, ++live);
    else --live;
  }
  return peak;
}

/// The evidence and score of one component of corroborated keys.
CampaignSummary summarize(const std::vector<Node>& nodes, const std::vector<std::uint32_t>& members, UnionFind& tuf,
                          const CampaignConfig& c) {
  const bool hourly = std::abs(c.bucket_seconds - 3600.0) < 1e-9;
  const std::size_t m = members.size();
  CampaignSummary cs;
  int kinds = 0;
  std::vector<std::uint32_t> tfam;
  std::vector<std::uint64_t> sys, par, ag, net;
  std::vector<std::uint32_t> reqs;
  std::size_t timed = 0, infra = 0, harvested = 0;
  std::vector<double> ratios;
  double since = std::numeric_limits<double>::infinity();
  std::uint64_t active = 0;
  std::map<std::uint64_t, NetworkId> net_ids;
  for (auto i : members) {
    const auto& nd = nodes[i];
    if (nd.ntemplates > 0) tfam.push_back(tuf.find(i));
    if (nd.system) sys.push_back(nd.system);
    if (nd.params) par.push_back(nd.params);
    if (nd.agent) ag.push_back(nd.agent);
    if (nd.net.valid()) {
      net.push_back(nd.net.key());
      net_ids[nd.net.key()] = nd.net;
    }
    if (nd.via_timing) ++timed;
    if (nd.via_network || nd.via_timing) ++infra;
    if (nd.via_harvest) {
      ++harvested;
      ratios.push_back(nd.elaboration);
    }
    reqs.push_back(nd.requests);
    since = std::min(since, nd.first_seen);
    active |= nd.activity;
    cs.member_fps.push_back(nd.fp);
  }
  std::string size_text = std::to_string(m);
  if (auto t = tally(tfam); !t.empty() && t.front().second >= 2) {
    std::uint64_t rep = nodes[t.front().first].templates[0];
    cs.evidence.push_back(std::to_string(t.front().second) + " of " + size_text + " keys share template T:" +
                          campaign::hex16(rep).substr(0, 8) + " (near-identical prompts, different filled-in slots)");
    ++kinds;
  }
  if (auto t = tally(sys); !t.empty() && t.front().second >= 2) {
    cs.evidence.push_back(std::to_string(t.front().second) + " keys share system prompt S:" +
                          campaign::hex16(t.front().first).substr(0, 8));
    ++kinds;
  }
  if (auto t = tally(net); !t.empty()) {
    std::size_t shown = std::min<std::size_t>(3, t.size()), covered = 0, top_cover = 0;
    std::string names;
    for (std::size_t k = 0; k < t.size(); ++k) {
      covered += t[k].second;
      if (k < shown) {
        top_cover += t[k].second;
        names += (k ? ", " : "") + to_string(net_ids[t[k].first]);
      }
    }
    if (t.size() > shown) names += " and " + std::to_string(t.size() - shown) + " more";
    cs.evidence.push_back(std::to_string(covered) + " of them come from " + std::to_string(t.size()) + " client network" +
                          (t.size() > 1 ? "s" : "") + " (" + names + ")");
    // Infrastructure counts as evidence when few networks hold most keys.
    if (top_cover * 2 >= m || t.size() * 4 <= m) ++kinds;
  }
  if (timed >= 2) {
    cs.evidence.push_back(std::to_string(timed) + " keys started within " + campaign::format_duration(c.timing_sync_window_s) +
                          " of a sibling key with overlapping activity");
    if (timed * 2 >= m) ++kinds;
  }
  {
    int recent = std::popcount(active & 0xFFFFFFULL);
    std::string unit = hourly ? "hours" : "buckets of " + campaign::format_duration(c.bucket_seconds);
    cs.evidence.push_back("together active in " + std::to_string(recent) + " of the last 24 " + unit + "; first request " +
                          campaign::format_utc(since));
    if (recent >= 20) ++kinds;
  }
  if (auto t = tally(par); !t.empty() && t.front().second * 2 >= m) {
    cs.evidence.push_back(std::to_string(t.front().second) + " send identical request parameters" +
                          ((t.front().first & 1) ? " shaped for harvesting (logprobs, n > 1 or logit_bias)" : ""));
    ++kinds;
  }
  if (auto t = tally(ag); !t.empty() && t.front().second * 2 >= m) {
    cs.evidence.push_back(std::to_string(t.front().second) + " use the same user agent");
    ++kinds;
  }
  if (harvested > 0) {
    char ratio[16];
    std::snprintf(ratio, sizeof ratio, "%.1f", upper_median(std::move(ratios)));
    cs.evidence.push_back(std::to_string(harvested) + " keys send only single-shot prompts (never a conversation) " +
                          "and get answers a median " + ratio + "x as long as their prompts" +
                          (infra == 0 ? " (no shared network or synchronised start: a behaviour link)" : ""));
  }
  std::sort(reqs.begin(), reqs.end());
  cs.evidence.push_back("median " + std::to_string(reqs[reqs.size() / 2]) + " requests per key; " +
                        campaign::with_commas(std::accumulate(reqs.begin(), reqs.end(), std::uint64_t{0})) + " in all");
  double size_bonus = 0.1 * std::min(1.0, std::log2(static_cast<double>(m) / static_cast<double>(c.min_campaign_keys)) / 5.0);
  cs.score = std::clamp(c.base_score + 0.06 * (kinds - 2) + size_bonus, 0.0, 0.99);
  // Linked by behaviour alone: medium evidence, never a blocking score.
  if (infra == 0) cs.score = std::min(cs.score, c.harvest_max_score);
  // A campaign runs its keys side by side. Keys that were never
  // min_campaign_keys live at once are successions (one customer rotating its
  // key on a schedule, or a few such customers behind one product's frame),
  // which is as much as a chain of flagged keys says: they score as one.
  if (const auto live = peak_live_keys(nodes, members); live < c.min_campaign_keys) {
    cs.evidence.push_back("at most " + std::to_string(live) + " of them live at once: keys used one after another");
    cs.score = std::min(cs.score, c.rotation_chain_score);
  }
  std::sort(cs.member_fps.begin(), cs.member_fps.end());
  return cs;
}

}  // namespace

bool harvesting_shape(const std::vector<Node>& nodes, const std::vector<std::uint32_t>& family, const CampaignConfig& c) {
  std::size_t established = 0;
  std::vector<double> ratios;
  for (auto i : family) {
    if (nodes[i].requests < c.harvest_min_key_requests) continue;
    ++established;
    if (nodes[i].single_shot_only) ratios.push_back(nodes[i].elaboration);
  }
  return ratios.size() >= c.harvest_min_keys &&
         static_cast<double>(ratios.size()) >= c.harvest_single_shot_share * static_cast<double>(established) &&
         upper_median(std::move(ratios)) >= c.harvest_min_elaboration;
}

Node node_of(const std::string& fp, const KeySketch& sk, std::int64_t now_bucket, const CampaignConfig& c) {
  Node n;
  n.fp = fp;
  n.first_seen = sk.first_seen;
  n.last_seen = sk.last_seen;
  n.requests = sk.requests;
  for (const auto& s : sk.templates)
    if (s.count > 0 && (s.count * 5 >= sk.templated || s.count >= 3)) n.templates[static_cast<std::size_t>(n.ntemplates++)] = s.id;
  const auto& sys = top_slot(sk.systems);
  if (sys.count > 0 && sys.count * 2 >= sk.requests) n.system = sys.id;
  const auto& par = top_slot(sk.params);
  if (par.count > 0 && par.count * 2 >= sk.requests) n.params = par.id;
  const auto& ag = top_slot(sk.agents);
  if (ag.count > 0 && ag.count * 2 >= sk.requests) n.agent = ag.id;
  bool router = sk.networked >= 5 && static_cast<double>(sk.network_misses) >= c.router_min_network_misses * sk.networked;
  if (!router) {
    if (const auto* best = campaign::top_net(sk); best && best->count * 2 >= sk.networked) n.net = best->net;
  }
  n.activity = sk.activity_at(now_bucket);
  n.single_shot_only = sk.requests >= c.harvest_min_key_requests && sk.continued == 0;
  n.elaboration = static_cast<double>(sk.completion_tokens) / static_cast<double>(std::max<std::uint64_t>(sk.prompt_tokens, 1));
  return n;
}

UnionFind template_groups(const std::vector<Node>& nodes, const CampaignConfig& c) {
  const auto n = static_cast<std::uint32_t>(nodes.size());
  UnionFind tuf(n);
  struct Entry {
    std::uint32_t band;
    std::uint32_t node;
    std::uint64_t sig;
  };
  std::vector<Entry> entries, sorted;
  entries.reserve(static_cast<std::size_t>(n) * 4);
  for (std::uint32_t i = 0; i < n; ++i)
    for (int t = 0; t < nodes[i].ntemplates; ++t) {
      auto sig = nodes[i].templates[static_cast<std::size_t>(t)];
      for (std::uint32_t b = 0; b < 4; ++b)
        entries.push_back(Entry{(b << 16) | static_cast<std::uint32_t>((sig >> (16 * b)) & 0xFFFF), i, sig});
    }
  // Order by (band, node): entries are generated in node order, so a
  // stable LSD radix sort on the 18-bit band key (three 6-bit digits)
  // finishes it in linear time (this runs on every clustering pass).
  sorted.resize(entries.size());
  for (unsigned shift = 0; shift < 18; shift += 6) {
    std::array<std::uint32_t, 65> start{};
    for (const Entry& e : entries) ++start[((e.band >> shift) & 63U) + 1];
    for (std::size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    for (const Entry& e : entries) sorted[start[(e.band >> shift) & 63U]++] = e;
    entries.swap(sorted);
  }
  std::vector<const Entry*> leaders;
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t j = i;
    leaders.clear();
    for (; j < entries.size() && entries[j].band == entries[i].band; ++j) {
      bool matched = false;
      for (const Entry* l : leaders) {
        if (std::popcount(l->sig ^ entries[j].sig) <= c.template_max_hamming) {
          tuf.unite(l->node, entries[j].node);
          matched = true;
          break;
        }
      }
      if (!matched && leaders.size() < 16) leaders.push_back(&entries[j]);
    }
    i = j;
  }
  return tuf;
}

std::vector<Family> candidate_families(const std::vector<Node>& nodes, UnionFind& tuf, const CampaignConfig& c) {
  const auto n = static_cast<std::uint32_t>(nodes.size());
  std::vector<Family> families;
  std::map<std::uint32_t, std::vector<std::uint32_t>> by_root;
  for (std::uint32_t i = 0; i < n; ++i)
    if (nodes[i].ntemplates > 0) by_root[tuf.find(i)].push_back(i);
  for (auto& [root, members] : by_root)
    if (members.size() >= 2) families.push_back(Family{FamilyKind::Template, std::move(members)});
  std::map<std::uint64_t, std::vector<std::uint32_t>> by_system, by_params;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (nodes[i].system != 0) by_system[nodes[i].system].push_back(i);
    if (nodes[i].params & 1) by_params[nodes[i].params].push_back(i);
  }
  for (auto& [h, members] : by_system)
    if (members.size() >= 2) families.push_back(Family{FamilyKind::System, std::move(members)});
  for (auto& [h, members] : by_params)
    if (members.size() >= 2 && static_cast<double>(members.size()) <= c.params_max_population_share * n)
      families.push_back(Family{FamilyKind::Params, std::move(members)});
  return families;
}

Corroboration corroborate(std::vector<Node>& nodes, const std::vector<Family>& families, double first_event,
                          const CampaignConfig& c) {
  std::unordered_map<std::uint64_t, std::size_t> keys_per_net;
  for (const auto& nd : nodes)
    if (nd.net.valid()) ++keys_per_net[nd.net.key()];
  Corroboration out(nodes.size());
  for (const auto& fam : families)
    if (corroborate_family(nodes, fam, keys_per_net, first_event, c, out.campaigns)) ++out.generic_families;
  return out;
}

std::vector<CampaignDraft> assemble_campaigns(const std::vector<Node>& nodes, UnionFind& tuf, UnionFind& fuf,
                                              const CampaignConfig& c) {
  const auto n = static_cast<std::uint32_t>(nodes.size());
  std::map<std::uint32_t, std::vector<std::uint32_t>> components;
  for (std::uint32_t i = 0; i < n; ++i)
    if (nodes[i].via_network || nodes[i].via_timing || nodes[i].via_harvest) components[fuf.find(i)].push_back(i);
  std::vector<CampaignDraft> built;
  for (const auto& [root, members] : components) {
    if (members.size() < c.min_campaign_keys) continue;
    built.push_back(CampaignDraft{summarize(nodes, members, tuf, c), members.size()});
  }
  std::stable_sort(built.begin(), built.end(), [](const CampaignDraft& a, const CampaignDraft& b) {
    return a.summary.score != b.summary.score ? a.summary.score > b.summary.score : a.size > b.size;
  });
  return built;
}

}  // namespace dg::detectors::campaign
