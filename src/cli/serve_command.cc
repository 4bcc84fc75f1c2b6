// kiroku serve: run the server until SIGTERM/SIGINT.
// Every option can come from a flag, from the config file (--config, TOML/INI: `port = 2113`)
// or from a KIROKU_* environment variable with the same name (KIROKU_HTTP_PORT, ...).
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "projections/projection_host.h"
#include "server/server.h"

namespace kiroku::cli {

void AddServeCommand(CLI::App& app, Action* action) {
  auto o = std::make_shared<server::ServerOptions>();
  auto durability = std::make_shared<std::string>("sync");
  auto* cmd = app.add_subcommand("serve", "Run the kiroku server (KurrentDB gRPC + HTTP admin)");
  auto config = std::make_shared<std::string>();
  cmd->add_option("--config", *config,
                  "Config file of `key = value` lines named like the flags (applied in main)");
  cmd->add_option("--data", o->data_dir, "Data directory")
      ->envname("KIROKU_DATA")
      ->default_val("./data");
  cmd->add_option("--bind", o->bind, "Address to listen on")
      ->envname("KIROKU_BIND")
      ->default_val("127.0.0.1");
  cmd->add_option("--port", o->port, "gRPC port (KurrentDB client protocol); 0 = any free")
      ->envname("KIROKU_PORT")
      ->default_val(2113);
  cmd->add_option("--http-port", o->http_port, "HTTP admin port; 0 = any free")
      ->envname("KIROKU_HTTP_PORT")
      ->default_val(2114);
  cmd->add_option("--tls-cert", o->tls_cert_file, "PEM certificate (enables TLS with --tls-key)")
      ->envname("KIROKU_TLS_CERT");
  cmd->add_option("--tls-key", o->tls_key_file, "PEM private key")->envname("KIROKU_TLS_KEY");
  cmd->add_option("--advertise-host", o->advertised_host, "Host name gossip advertises")
      ->envname("KIROKU_ADVERTISE_HOST");
  cmd->add_option("--durability", *durability, "sync | interval | none (unsafe)")
      ->envname("KIROKU_DURABILITY")
      ->default_val("sync");
  cmd->add_option("--max-append-size", o->store.max_append_size, "Bytes per append")
      ->envname("KIROKU_MAX_APPEND_SIZE")
      ->default_val(o->store.max_append_size);
  cmd->add_option("--max-event-size", o->store.max_event_size, "Bytes per event")
      ->envname("KIROKU_MAX_EVENT_SIZE")
      ->default_val(o->store.max_event_size);
  auto projections_dir = std::make_shared<std::string>();
  cmd->add_option("--projections", *projections_dir,
                  "Directory of projection specs (*.yaml) to run inside the server")
      ->envname("KIROKU_PROJECTIONS");
  cmd->callback([o, durability, config, action, projections_dir] {
    *action = [o, durability, projections_dir]() -> int {
      if (*durability == "sync") {
        o->store.durability = Durability::kSyncEveryGroup;
      } else if (*durability == "interval") {
        o->store.durability = Durability::kSyncInterval;
      } else if (*durability == "none") {
        o->store.durability = Durability::kNoSync;
      } else {
        return PrintError(Status::InvalidArgument("--durability must be sync, interval or none"));
      }
      // Block the stop signals in every thread; this one waits for them.
      sigset_t stop;
      sigemptyset(&stop);
      sigaddset(&stop, SIGTERM);
      sigaddset(&stop, SIGINT);
      pthread_sigmask(SIG_BLOCK, &stop, nullptr);
      // Projection specs are checked before anything starts.
      std::shared_ptr<projections::ProjectionHost> host;
      if (!projections_dir->empty()) {
        auto h = projections::ProjectionHost::Load(*projections_dir);
        if (!h.ok()) return PrintError(h.status());
        host = std::move(*h);
        o->projections_json = [host] { return host->StatusJson(); };
        o->extra_metrics = [host] { return host->MetricsText(); };
      }
      auto s = server::Server::Start(*o);
      if (!s.ok()) return PrintError(s.status());
      if (host) {
        Status started = host->Start((*s)->store());
        if (!started.ok()) {
          host->Stop();
          (*s)->Shutdown();
          return PrintError(started);
        }
      }
      bool tls = !o->tls_cert_file.empty();
      std::printf("kiroku serving %s (durability %s)\n", o->data_dir.c_str(),
                  DurabilityName(o->store.durability));
      std::printf("  gRPC  %s:%u  connect with: esdb://%s:%u?tls=%s\n", o->bind.c_str(),
                  (*s)->port(), o->bind.c_str(), (*s)->port(), tls ? "true" : "false");
      std::printf("  HTTP  http://%s:%u/health/live  /metrics  /stats  /streams/{name}\n",
                  o->bind.c_str(), (*s)->http_port());
      std::fflush(stdout);
      int sig = 0;
      sigwait(&stop, &sig);
      std::printf("kiroku: %s received, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      std::fflush(stdout);
      if (host) host->Stop();  // projections commit before the store closes
      (*s)->Shutdown();
      std::printf("kiroku: stopped cleanly\n");
      return 0;
    };
  });
}

}  // namespace kiroku::cli
