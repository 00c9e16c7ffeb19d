// The registry's text format, as Prometheus parses it.

#include "sotto/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sotto::metrics {
namespace {

TEST(RegistryTest, RendersCountersGaugesAndLabelsInTextFormat) {
  Registry r;
  r.GetCounter("x_total", "Things.", {{"kind", "a"}}).Add(3);
  r.GetCounter("x_total", "Things.", {{"kind", "b"}}).Add();
  r.GetGauge("y", "Level.").Set(-2);
  EXPECT_EQ(r.Render(),
            "# HELP x_total Things.\n# TYPE x_total counter\n"
            "x_total{kind=\"a\"} 3\nx_total{kind=\"b\"} 1\n"
            "# HELP y Level.\n# TYPE y gauge\ny -2\n");
}

TEST(RegistryTest, SameNameAndLabelsIsTheSameSeries) {
  Registry r;
  Counter& a = r.GetCounter("c_total", "C.", {{"l", "v"}});
  Counter& b = r.GetCounter("c_total", "C.", {{"l", "v"}});
  EXPECT_EQ(&a, &b);
}

TEST(RegistryTest, HistogramHasCumulativeBucketsSumAndCount) {
  Registry r;
  Histogram& h = r.GetHistogram("d_seconds", "D.", {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP d_seconds D.\n# TYPE d_seconds histogram\n"
            "d_seconds_bucket{le=\"0.1\"} 1\nd_seconds_bucket{le=\"1\"} 2\n"
            "d_seconds_bucket{le=\"+Inf\"} 3\nd_seconds_sum 7.55\nd_seconds_count 3\n");
}

TEST(RegistryTest, LabelValuesAreEscaped) {
  Registry r;
  r.GetGauge("g", "G.", {{"v", "a\"b\\c\nd"}}).Set(1);
  EXPECT_NE(r.Render().find("g{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << r.Render();
}

TEST(RegistryTest, NameReusedWithAnotherTypeIsNeverRendered) {
  Registry r;
  r.GetCounter("n", "N.").Add(5);
  r.GetGauge("n", "N.").Set(9);  // a caller's bug: must not corrupt the output
  EXPECT_EQ(r.Render(), "# HELP n N.\n# TYPE n counter\nn 5\n");
}

TEST(RegistryTest, CollectorsRunAtRenderUntilRemoved) {
  Registry r;
  int runs = 0;
  const int id = r.AddCollector([&](Exposition& out) {
    ++runs;
    out.Gauge("live", "L.", 42);
  });
  EXPECT_EQ(r.Render(), "# HELP live L.\n# TYPE live gauge\nlive 42\n");
  r.RemoveCollector(id);
  EXPECT_EQ(r.Render(), "");
  EXPECT_EQ(runs, 1);
}

TEST(RegistryTest, ConcurrentAddsAreAllCounted) {
  Registry r;
  Counter& c = r.GetCounter("c_total", "C.");
  Histogram& h = r.GetHistogram("h", "H.", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Add();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.snapshot().cumulative.back(), 40000u);
  EXPECT_DOUBLE_EQ(h.snapshot().sum, 20000);
}

TEST(RegistryTest, CountRefusalLabelsTheLimit) {
  CountRefusal("test_limit");
  CountRefusal("test_limit");
  EXPECT_NE(Global().Render().find("sotto_refusals_total{limit=\"test_limit\"} 2\n"),
            std::string::npos);
}

}  // namespace
}  // namespace sotto::metrics
