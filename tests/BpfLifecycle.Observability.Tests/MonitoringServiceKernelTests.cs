// The hosted monitoring loop in a real host on a fake clock: it holds kernel stats on while running, polls on the
// configured interval, raises deduplicated alerts for an unhealthy program and drains its log ring into ILogger.
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.DependencyInjection;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Monitoring;
using BpfLifecycle.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class MonitoringServiceKernelTests : KernelTestBase
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    private async Task AdvanceUntil(Func<bool> condition, CancellationToken ct)
    {
        // The loop registers its timers on the thread pool; step the fake clock until it has done the work.
        for (var i = 0; i < 3000 && !condition(); i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(10, ct);
        }

        Assert.True(condition(), "the monitoring loop did not get there");
    }

    [Fact]
    public async Task Hosted_loop_polls_alerts_and_forwards_logs_on_the_fake_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        var logs = new FakeLogCollector();
        var sink = new AlertTests.RecordingSink();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs));
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddBpfObservability(o =>
        {
            o.PollInterval = TimeSpan.FromSeconds(10);
            o.LogDrainInterval = TimeSpan.FromSeconds(1);
            o.Health.MinimumRuns = 100;
            o.Health.MinimumWindow = TimeSpan.FromSeconds(10);
        }).AddAlertSink(sink);
        using var host = builder.Build();
        var monitor = host.Services.GetRequiredService<BpfMonitor>();
        var service = host.Services.GetServices<IHostedService>().OfType<BpfMonitoringService>().Single();

        using var prog = new ReferenceProgram(versionId: 77, errorEvery: 10); // 10% errors: unhealthy
        prog.SetConfig("log_sample_percent", 100);
        var id = new ProgramIdentity("svc-test", "lifecycle_xdp", "77");
        using (monitor.Register(new MonitoredProgram { Identity = id, VersionId = 77, Program = prog.Program, StatsMap = prog.Stats, LogRing = prog.Logs }))
        {
            await host.StartAsync(ct);
            try
            {
                await AdvanceUntil(() => monitor.KernelStatsEnabled, ct);
                prog.Run(300);
                // A poll may already have run before the packets: wait for the one that saw them and its alert.
                await AdvanceUntil(() => monitor.GetWindow(id).Runs == 300 && monitor.LogStatistics.Forwarded == 300 && sink.Alerts.Count > 0, ct);

                var window = monitor.GetWindow(id);
                Assert.Equal(300, window.Runs);
                Assert.Equal(30, window.Errors);
                Assert.Contains(sink.Alerts, a => a.Rule == HealthRules.ErrorRate && a.Severity == AlertSeverity.Critical && a.Program == id);
                var alertsAfterFirstPoll = sink.Alerts.Count;
                var bpfLogs = logs.GetSnapshot().Where(r => r.Category == BpfMonitor.LogCategory).ToList();
                Assert.Equal(300, bpfLogs.Count);
                Assert.All(bpfLogs, r => Assert.Equal("77", r.GetStructuredStateValue("bpf.version_id")));
                Assert.Contains(logs.GetSnapshot(), r => r.Level == LogLevel.Critical && r.Message.Contains("error-rate", StringComparison.Ordinal));

                // Further polls see the same failing window: the repeat is deduplicated, not re-sent.
                var polls = service.CompletedPolls;
                await AdvanceUntil(() => service.CompletedPolls >= polls + 2, ct);
                Assert.Equal(alertsAfterFirstPoll, sink.Alerts.Count);
                Assert.True(host.Services.GetRequiredService<AlertPublisher>().Statistics.Deduplicated > 0);
            }
            finally
            {
                await host.StopAsync(ct);
            }

            Assert.False(monitor.KernelStatsEnabled);
        }
    }
}
