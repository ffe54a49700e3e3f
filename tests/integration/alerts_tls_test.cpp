// Alert delivery over https: the sink verifies the receiver's certificate
// (a throwaway CA-less self-signed one, trusted through the sink's ca_file).
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "gateway/alerts/alert_dispatcher.hpp"
#include "tools/webhook_receiver.hpp"

using namespace dg::gateway;
using namespace std::chrono_literals;
namespace config = dg::config;

namespace {

struct Pem {
  std::string cert;
  std::string key;
};

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

/// A self-signed P-256 certificate for CN=localhost with SAN DNS:localhost, IP:127.0.0.1.
Pem self_signed_localhost() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) > 0);
  Pem out;
  std::unique_ptr<BIO, decltype(&BIO_free)> cb(BIO_new(BIO_s_mem()), BIO_free), kb(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cb.get(), x.get());
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.cert = bio_string(cb.get());
  out.key = bio_string(kb.get());
  return out;
}

config::AlertSinkConfig https_sink(const std::string& url) {
  config::AlertSinkConfig s;
  s.name = "tls";
  s.url = url;
  s.endpoint = *config::parse_sink_url(url);
  s.secret = "tls-secret";
  s.retry = {2, 1, 2};
  return s;
}

}  // namespace

TEST_CASE("alerts: https sinks verify the receiver's certificate", "[alerts]") {
  const auto pem = self_signed_localhost();
  const auto ca_path = (std::filesystem::temp_directory_path() /
                        ("dg_alerts_ca_" + std::to_string(::getpid()) + ".pem"))
                           .string();
  std::ofstream(ca_path) << pem.cert;

  WebhookReceiverOptions ro;
  ro.secret = "tls-secret";
  ro.tls_cert_pem = pem.cert;
  ro.tls_key_pem = pem.key;
  WebhookReceiver rx(ro);
  const auto url = rx.url("/alerts", "localhost");
  REQUIRE(url.starts_with("https://localhost:"));

  dg::gateway::metrics::Registry reg;
  DgMetrics m(reg);
  Alert a;
  a.key_fp = "fp:0123456789abcdef";
  a.ts = 1;

  SECTION("trusted through ca_file: delivered and signed") {
    config::AlertsConfig cfg;
    auto sink = https_sink(url);
    sink.ca_file = ca_path;
    cfg.sinks.push_back(sink);
    AlertDispatcher d(cfg, m);
    d.start();
    REQUIRE(d.enqueue(a));
    REQUIRE(rx.wait_for(1, 10s) == 1);
    REQUIRE(d.shutdown(5s));
    CHECK(m.alert_deliveries.with({"tls"}).value() == 1);
    CHECK(rx.received().at(0).signature_ok);
  }
  SECTION("untrusted certificate: never sent, retried, then dead-lettered") {
    config::AlertsConfig cfg;
    cfg.dead_letter_file = ca_path + ".dead.jsonl";
    cfg.sinks.push_back(https_sink(url));  // system store only
    AlertDispatcher d(cfg, m);
    d.start();
    REQUIRE(d.enqueue(a));
    REQUIRE(d.shutdown(10s));
    CHECK(rx.count() == 0);  // the handshake failed before any request
    CHECK(m.alert_deliveries.with({"tls"}).value() == 0);
    CHECK(m.alert_dead_lettered.with({"tls"}).value() == 1);
    std::filesystem::remove(cfg.dead_letter_file);
  }
  SECTION("verify_tls: false accepts it (documented as unsafe)") {
    config::AlertsConfig cfg;
    auto sink = https_sink(url);
    sink.verify_tls = false;
    cfg.sinks.push_back(sink);
    AlertDispatcher d(cfg, m);
    d.start();
    REQUIRE(d.enqueue(a));
    REQUIRE(rx.wait_for(1, 10s) == 1);
    REQUIRE(d.shutdown(5s));
    CHECK(m.alert_deliveries.with({"tls"}).value() == 1);
  }
  std::filesystem::remove(ca_path);
}
