// kiroku admin verify|reindex --data DIR
#include <httplib.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace kiroku::cli {

void AddAdminCommands(CLI::App& app, Action* action) {
  auto* admin = app.add_subcommand("admin", "Offline maintenance of a data directory");
  admin->require_subcommand(1);

  struct VerifyArgs {
    std::string data;
    bool json = false;
  };
  auto va = std::make_shared<VerifyArgs>();
  auto* verify = admin->add_subcommand(
      "verify", "Check every record's CRC and every index entry; report file and offset of damage");
  verify->add_option("--data", va->data, "Data directory")->required();
  verify->add_flag("--json", va->json, "Machine-readable output");
  verify->callback([va, action] {
    *action = [va]() -> int {
      auto r = VerifyStore(va->data);
      if (!r.ok()) return PrintError(r.status());
      const VerifyReport& rep = *r;
      if (va->json) {
        nlohmann::json j{{"ok", rep.ok()},
                         {"segments", rep.segments},
                         {"records", rep.records},
                         {"bytes", rep.bytes},
                         {"index_entries_checked", rep.index_entries_checked},
                         {"problems", rep.problems}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("segments %llu, records %llu, bytes %llu, index entries checked %llu\n",
                    static_cast<unsigned long long>(rep.segments),
                    static_cast<unsigned long long>(rep.records),
                    static_cast<unsigned long long>(rep.bytes),
                    static_cast<unsigned long long>(rep.index_entries_checked));
        for (const auto& p : rep.problems) std::printf("DAMAGE: %s\n", p.c_str());
        std::printf("%s\n", rep.ok() ? "OK" : "DAMAGED");
      }
      return rep.ok() ? 0 : 3;
    };
  });

  struct StatsArgs {
    std::string data, http_url = "http://127.0.0.1:2114";
  };
  auto sa = std::make_shared<StatsArgs>();
  auto* stats = admin->add_subcommand(
      "stats", "Store figures as JSON: from a server's HTTP port, or an embedded --data DIR");
  stats->add_option("--data", sa->data, "Data directory (embedded; the store must not be open)");
  stats->add_option("--http-url", sa->http_url, "Server HTTP admin base URL")
      ->envname("KIROKU_HTTP_URL")
      ->default_val("http://127.0.0.1:2114");
  stats->callback([sa, action] {
    *action = [sa]() -> int {
      if (!sa->data.empty()) {
        StoreOptions o;
        o.create_if_missing = false;
        auto store = Store::Open(sa->data, o);
        if (!store.ok()) return PrintError(store.status());
        StoreStats s = (*store)->Stats();
        nlohmann::json j{{"log_end", s.log_end.value}, {"segments", s.segments}};
        std::printf("%s\n", j.dump().c_str());
        return 0;
      }
      httplib::Client http(sa->http_url);
      http.set_connection_timeout(5);
      auto res = http.Get("/stats");
      if (!res || res->status != 200) {
        return PrintError(Status::IOError("GET " + sa->http_url + "/stats failed"));
      }
      std::printf("%s\n", res->body.c_str());
      return 0;
    };
  });

  auto ra = std::make_shared<VerifyArgs>();
  auto* reindex = admin->add_subcommand("reindex", "Drop the index and rebuild it from the log");
  reindex->add_option("--data", ra->data, "Data directory")->required();
  reindex->add_flag("--json", ra->json, "Machine-readable output");
  reindex->callback([ra, action] {
    *action = [ra]() -> int {
      auto r = ReindexStore(ra->data);
      if (!r.ok()) return PrintError(r.status());
      if (ra->json) {
        std::printf("{\"events_indexed\":%llu}\n", static_cast<unsigned long long>(*r));
      } else {
        std::printf("reindexed %llu events\n", static_cast<unsigned long long>(*r));
      }
      return 0;
    };
  });
}

}  // namespace kiroku::cli
