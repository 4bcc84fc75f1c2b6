// Malformed requests over the wire, sent with raw gRPC stubs (the official clients validate
// these before sending): each gets a clear error and the server keeps serving.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "streams.grpc.pb.h"
#include "support/process.h"
#include "support/test_dir.h"

namespace kiroku::testing {
namespace {

namespace spb = ::event_store::client::streams;

class ServerWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(KIROKU_BIN, dir_.Sub("data"));
    std::string err;
    ASSERT_TRUE(server_->Start(&err)) << err;
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    stub_ = spb::Streams::NewStub(channel);
  }
  void TearDown() override { EXPECT_EQ(server_->Stop(), 0); }

  grpc::Status Append(const std::vector<spb::AppendReq>& msgs, spb::AppendResp* resp,
                      std::string* exception = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto w = stub_->Append(&ctx, resp);
    for (const auto& m : msgs) w->Write(m);
    w->WritesDone();
    grpc::Status s = w->Finish();
    if (exception) {
      auto it = ctx.GetServerTrailingMetadata().find("exception");
      *exception = it == ctx.GetServerTrailingMetadata().end()
                       ? ""
                       : std::string(it->second.data(), it->second.size());
    }
    return s;
  }
  static spb::AppendReq Options(const std::string& stream) {
    spb::AppendReq r;
    r.mutable_options()->mutable_stream_identifier()->set_stream_name(stream);
    r.mutable_options()->mutable_any();
    return r;
  }
  static spb::AppendReq Event(bool with_type = true) {
    spb::AppendReq r;
    auto* p = r.mutable_proposed_message();
    p->mutable_id()->set_string("0f8fad5b-d9cb-469f-a165-70867728950e");
    if (with_type) (*p->mutable_metadata())["type"] = "T";
    (*p->mutable_metadata())["content-type"] = "application/json";
    p->set_data("{}");
    return r;
  }
  // The server still appends and reads normally.
  void ExpectServing() {
    spb::AppendResp resp;
    ASSERT_TRUE(Append({Options("healthy"), Event()}, &resp).ok());
    EXPECT_TRUE(resp.has_success());
  }

  TestDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<spb::Streams::Stub> stub_;
};

TEST_F(ServerWireTest, MalformedAppendsGetClearErrors) {
  spb::AppendResp resp;
  // No options first.
  EXPECT_EQ(Append({Event()}, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectServing();
  // Options twice.
  EXPECT_EQ(Append({Options("s"), Options("s")}, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // No "type" metadata: the official clients' missing-required-metadata-property.
  std::string exception;
  EXPECT_EQ(Append({Options("s"), Event(false)}, &resp, &exception).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(exception, "missing-required-metadata-property");
  // Empty stream name and a stream name that is not UTF-8.
  EXPECT_EQ(Append({Options(""), Event()}, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Append({Options("bad\xff"), Event()}, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A proposed message whose id is not a UUID.
  spb::AppendReq bad_id = Event();
  bad_id.mutable_proposed_message()->mutable_id()->set_string("not-a-uuid");
  EXPECT_EQ(Append({Options("s"), bad_id}, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Zero events: answers with the stream's state instead of failing.
  spb::AppendResp empty;
  grpc::Status es = Append({Options("nothing-here")}, &empty);
  EXPECT_TRUE(es.ok()) << es.error_code() << " " << es.error_message();
  EXPECT_TRUE(empty.success().has_no_stream());
  ExpectServing();
}

TEST_F(ServerWireTest, MalformedReadsGetClearErrors) {
  auto read = [&](const spb::ReadReq& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto r = stub_->Read(&ctx, req);
    spb::ReadResp resp;
    while (r->Read(&resp)) {
    }
    return r->Finish();
  };
  spb::ReadReq no_options;
  EXPECT_EQ(read(no_options).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  spb::ReadReq backwards_sub;
  backwards_sub.mutable_options()->mutable_all()->mutable_start();
  backwards_sub.mutable_options()->set_read_direction(spb::ReadReq::Options::Backwards);
  backwards_sub.mutable_options()->mutable_subscription();
  EXPECT_EQ(read(backwards_sub).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  spb::ReadReq bad_regex;
  bad_regex.mutable_options()->mutable_all()->mutable_start();
  bad_regex.mutable_options()->set_count(10);
  bad_regex.mutable_options()->mutable_filter()->mutable_event_type()->set_regex("(unclosed");
  EXPECT_EQ(read(bad_regex).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  spb::ReadReq bad_position;
  bad_position.mutable_options()->mutable_all()->mutable_position()->set_commit_position(33);
  bad_position.mutable_options()->set_count(10);
  ExpectServing();
  EXPECT_EQ(read(bad_position).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectServing();
}

}  // namespace
}  // namespace kiroku::testing
