#include "server/net/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace roomcast::net {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("roomcast-static-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir_ / "js");
    Write("index.html", "<html><head><script src=\"js/app.0d7d7845.js\"></script></head></html>");
    Write("js/app.0d7d7845.js", "console.log(1)");
    Write("js/app.0d7d7845.js.map", "{}");
    Write("favicon.png", "PNG");
    Write(".secret", "no");
    Write("../outside-roomcast-static.txt", "no");
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove(dir_.parent_path() / "outside-roomcast-static.txt");
  }
  void Write(const std::string& name, const std::string& body) {
    std::ofstream(dir_ / name, std::ios::binary) << body;
  }
  static Request Get(std::string_view target, http::verb verb = http::verb::get) {
    Request request(verb, target, 11);
    return request;
  }
  fs::path dir_;
};

TEST_F(StaticFilesTest, ServesTheFilesWithTypesAndCaching) {
  absl::StatusOr<std::unique_ptr<StaticFiles>> files =
      StaticFiles::Load(dir_.string(), "/admin/", "<script>x()</script>");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ((*files)->size(), 3u);  // No source map, no dot file.

  Response index = (*files)->Serve(Get("/admin/"), "");
  EXPECT_EQ(index.result(), http::status::ok);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(index[http::field::cache_control], "no-cache");
  EXPECT_EQ(index.body(),
            "<html><head><script>x()</script><script src=\"js/app.0d7d7845.js\"></script></head>"
            "</html>");

  Response js = (*files)->Serve(Get("/admin/js/app.0d7d7845.js?v=1"), "js/app.0d7d7845.js?v=1");
  EXPECT_EQ(js.result(), http::status::ok);
  EXPECT_EQ(js[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(js[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(js.body(), "console.log(1)");

  Response png = (*files)->Serve(Get("/admin/favicon.png"), "favicon.png");
  EXPECT_EQ(png[http::field::content_type], "image/png");
  EXPECT_EQ(png[http::field::cache_control], "public, max-age=3600");

  Response head = (*files)->Serve(Get("/admin/favicon.png", http::verb::head), "favicon.png");
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], "3");
}

TEST_F(StaticFilesTest, NothingOutsideTheLoadedFiles) {
  auto files = StaticFiles::Load(dir_.string(), "/admin/", "");
  ASSERT_TRUE(files.ok());
  for (const char* path :
       {"../outside-roomcast-static.txt", "%2e%2e/outside-roomcast-static.txt", ".secret",
        "js/app.0d7d7845.js.map", "js/../../outside-roomcast-static.txt", "/etc/passwd", "js",
        "nope.html"}) {
    EXPECT_EQ((*files)->Serve(Get("/admin/x"), path).result(), http::status::not_found) << path;
  }
  EXPECT_EQ((*files)->Serve(Get("/admin/", http::verb::post), "").result(),
            http::status::method_not_allowed);
}

TEST_F(StaticFilesTest, ADirectoryWithoutIndexIsAnError) {
  fs::remove(dir_ / "index.html");
  EXPECT_EQ(StaticFiles::Load(dir_.string(), "/admin/", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(StaticFiles::Load((dir_ / "missing").string(), "/admin/", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(StaticFilesNamesTest, TypesAndCachePolicies) {
  EXPECT_EQ(StaticFiles::ContentType("css/app.6e3b9661.css"), "text/css; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType("img/logo-dark.3727fec5.svg"), "image/svg+xml");
  EXPECT_EQ(StaticFiles::ContentType("README"), "application/octet-stream");
  EXPECT_EQ(StaticFiles::ContentType("a.b/README"), "application/octet-stream");
  EXPECT_EQ(StaticFiles::CacheControl("img/logo-dark.3727fec5.svg"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(StaticFiles::CacheControl("favicon.png"), "public, max-age=3600");
  EXPECT_EQ(StaticFiles::CacheControl("index.html"), "no-cache");
}

}  // namespace
}  // namespace roomcast::net
