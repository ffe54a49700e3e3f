// Ordinary customers driven by ServeGen per-client rate traces.
#include <algorithm>
#include <array>

#include "sim/arrivals.hpp"
#include "sim/personas.hpp"
#include "sim/text.hpp"

namespace dg::sim {
namespace {

namespace json = boost::json;

enum class BenignKind { Chat, Code, Docs };

constexpr std::array<const char*, 8> kCompanies = {"Acme",    "Northwind", "Globex",   "Initech",
                                                   "Umbrella", "Hooli",    "Vandelay", "Stark Retail"};

class BenignPersona final : public Persona {
 public:
  BenignPersona(const DataSet& data, Rng rng, const std::vector<std::string>& nat_pool, double volume_scale)
      : rng_(rng) {
    kind_ = static_cast<BenignKind>(rng_.weighted({62, 24, 14}));
    id_.key = make_api_key(rng_);
    if (!nat_pool.empty() && rng_.chance(0.25)) {
      // Behind a shared corporate NAT: one or two of its addresses.
      id_.ips.push_back(rng_.pick(nat_pool));
      if (rng_.chance(0.5)) id_.ips.push_back(rng_.pick(nat_pool));
    } else {
      id_.ips.push_back(rng_.chance(0.12) ? random_ipv6(rng_) : random_public_ipv4(rng_));
      const auto extra = rng_.weighted({55, 30, 15});
      for (std::size_t i = 0; i < extra; ++i)
        id_.ips.push_back(rng_.chance(0.6) ? same_slash24(id_.ips.front(), rng_) : random_public_ipv4(rng_));
    }
    id_.user_agent = random_user_agent(rng_);
    model_ = random_model(rng_);
    trace_ = &data.clients[rng_.index(data.clients.size())];
    per_day_ = std::clamp(rng_.lognormal(80, 0.9), 8.0, 2500.0) * volume_scale;
    // Start on a random day of the 14-day trace, in a random time zone.
    trace_offset_ = static_cast<double>(rng_.between(0, 13)) * 86400 + static_cast<double>(rng_.between(-10, 10)) * 3600;
    if (trace_offset_ < 0) trace_offset_ += 14 * 86400;
    const std::string company = kCompanies[rng_.index(kCompanies.size())];
    if (kind_ == BenignKind::Chat && rng_.chance(0.55)) {
      static constexpr std::array<const char*, 4> kSystems = {
          "You are {c}'s helpful assistant. Be concise and friendly.",
          "You are a customer support agent for {c}. Answer politely; escalate billing questions.",
          "You are a writing assistant embedded in {c} Docs. Keep the user's tone.",
          "You are a helpful assistant."};
      system_ = fill_slot(kSystems[rng_.index(kSystems.size())], "c", company);
    } else if (kind_ == BenignKind::Code) {
      system_ = "You are an expert software engineer helping " + company + " developers. Answer with code when useful.";
    }
    if (rng_.chance(0.5)) temperature_ = std::array<double, 4>{0.2, 0.5, 0.7, 1.0}[rng_.index(4)];
    if (rng_.chance(0.6)) max_tokens_ = std::array<int, 5>{256, 512, 1024, 2048, 4096}[rng_.index(5)];
    stream_ = rng_.chance(0.5);
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    static constexpr std::array<const char*, 3> kNames = {"benign/chat", "benign/code", "benign/docs"};
    return {{id_.key, KeyLabel{KeyClass::Benign, kNames[static_cast<int>(kind_)], "", ""}}};
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    // Many ServeGen clients are idle for days; a key of the population should
    // send something, so re-draw the client (deterministically) until it does.
    for (int attempt = 0;; ++attempt) {
      const double scale = per_day_ / trace_->mean_daily_requests;
      auto out = servegen_arrivals(*trace_, trace_offset_, scale, ctx.start, ctx.end, rng_);
      if (!out.empty() || attempt == 20) return out;
      trace_ = &ctx.data.clients[rng_.index(ctx.data.clients.size())];
    }
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    const DataSet& data = ctx.data;
    SimRecord r;
    r.ts = ts;
    r.key = id_.key;
    r.client_ip = id_.pick_ip(rng_);
    r.user_agent = id_.user_agent;
    json::array messages;
    if (!system_.empty()) messages.push_back(message("system", system_));
    std::uint64_t completion = 0;
    switch (kind_) {
      case BenignKind::Chat: {
        const TokenPair& tp = rng_.pick(data.azure_conv);
        const std::string user = truncate_utf8(rng_.pick(data.sharegpt), 6000);
        const std::uint64_t target = std::min<std::uint32_t>(tp.input, 1000);
        const std::uint64_t have = estimate_tokens(user) + estimate_tokens(system_);
        if (target > have + 120 && rng_.chance(0.85)) {
          // An ongoing conversation: an earlier exchange brings the context up
          // to the trace's input size.
          const std::string earlier = truncate_utf8(rng_.pick(data.sharegpt), 1500);
          messages.push_back(message("user", earlier));
          const auto rest = target - have - std::min<std::uint64_t>(target - have, estimate_tokens(earlier));
          messages.push_back(message("assistant", filler_prose(data, rng_, std::max<std::uint64_t>(rest, 40) * 4)));
        }
        messages.push_back(message("user", user));
        completion = tp.output;
        break;
      }
      case BenignKind::Code: {
        static constexpr std::array<const char*, 6> kAsks = {
            "Why does this throw a KeyError sometimes?", "Add type hints and docstrings to this.",
            "Refactor this to be easier to test.", "Write unit tests for the functions above.",
            "Can you find the bug here?", "Complete the missing function."};
        const TokenPair& tp = rng_.pick(data.azure_code);
        const std::uint64_t ctx_tokens = std::clamp<std::uint64_t>(tp.input, 30, 800);
        std::string user = "```\n" + filler_code(rng_, ctx_tokens * 4) + "\n```\n";
        user += rng_.chance(0.7) ? std::string(kAsks[rng_.index(kAsks.size())])
                                 : truncate_utf8(rng_.pick(data.sharegpt), 600);
        messages.push_back(message("user", user));
        completion = std::max<std::uint32_t>(tp.output, 4) * static_cast<std::uint64_t>(rng_.between(1, 6));
        break;
      }
      case BenignKind::Docs: {
        static constexpr std::array<const char*, 5> kAsks = {
            "Summarize the document above in five bullet points.", "What are the action items in this text?",
            "Translate the key points of this into plain English.", "Draft a reply to this email thread.",
            "List the risks mentioned above."};
        const TokenPair& tp = rng_.pick(data.mooncake);
        const std::uint64_t doc_tokens = std::clamp<std::uint64_t>(tp.input, 200, 1000);
        messages.push_back(message("user", filler_prose(data, rng_, doc_tokens * 4) + "\n\n" +
                                               kAsks[rng_.index(kAsks.size())]));
        completion = tp.output;
        break;
      }
    }
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    if (temperature_ >= 0) r.request["temperature"] = temperature_;
    if (max_tokens_ > 0) r.request["max_tokens"] = max_tokens_;
    if (stream_) r.request["stream"] = true;
    finish_response(r, completion, rng_);
    return r;
  }

 private:
  Rng rng_;
  BenignKind kind_ = BenignKind::Chat;
  ClientIdentity id_;
  std::string model_;
  std::string system_;
  const ClientTrace* trace_ = nullptr;
  double per_day_ = 100;
  double trace_offset_ = 0;
  double temperature_ = -1;
  int max_tokens_ = 0;
  bool stream_ = false;
};

}  // namespace

PersonaPtr make_benign_persona(const DataSet& data, Rng rng, const std::vector<std::string>& nat_pool,
                               double volume_scale) {
  return std::make_unique<BenignPersona>(data, rng, nat_pool, volume_scale);
}

}  // namespace dg::sim
