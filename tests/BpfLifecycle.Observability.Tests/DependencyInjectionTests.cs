// DI registration: the services resolve, options are validated on start with named problems, sinks are added,
// and the hosted monitoring loop runs on the TimeProvider from DI.
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.DependencyInjection;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using BpfLifecycle.Observability.Monitoring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Observability.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void Registers_the_layer_once_with_defaults()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddBpfObservability();
        services.AddBpfObservability(o => o.PollInterval = TimeSpan.FromSeconds(5));
        using var sp = services.BuildServiceProvider();
        var o = sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(5), o.PollInterval);
        Assert.Equal(0.01, o.Health.MaxErrorRate);
        Assert.IsType<HealthEvaluator>(sp.GetRequiredService<IHealthEvaluator>());
        Assert.NotNull(sp.GetRequiredService<BpfLifecycleMetrics>());
        Assert.Same(sp.GetRequiredService<BpfMonitor>(), sp.GetRequiredService<BpfMonitor>());
        Assert.Single(sp.GetServices<IHostedService>().OfType<BpfMonitoringService>());
        Assert.IsType<LoggerAlertSink>(Assert.Single(sp.GetServices<IAlertSink>()));
    }

    [Fact]
    public async Task Invalid_options_fail_host_start_naming_each_problem()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddBpfObservability(o =>
        {
            o.PollInterval = TimeSpan.Zero;
            o.Health.MaxCpuShare = 0;
            o.Alerts.MaxAlertsPerPeriod = 0;
        });
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains(ex.Failures, f => f.StartsWith("PollInterval", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Health.MaxCpuShare", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Alerts.MaxAlertsPerPeriod", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_bind_from_configuration()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PollInterval"] = "00:00:30",
            ["Health:MaxErrorRate"] = "0.02",
            ["Health:MinimumRuns"] = "500",
            ["Health:Severities:cpu-overhead"] = "Critical",
            ["Alerts:DeduplicationWindow"] = "00:10:00",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddBpfObservability(config);
        using var sp = services.BuildServiceProvider();
        var o = sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(30), o.PollInterval);
        Assert.Equal(0.02, o.Health.MaxErrorRate);
        Assert.Equal(500, o.Health.MinimumRuns);
        Assert.Equal(AlertSeverity.Critical, o.Health.SeverityOf(HealthRules.CpuOverhead));
        Assert.Equal(AlertSeverity.Critical, o.Health.SeverityOf(HealthRules.ErrorRate));
        Assert.Equal(TimeSpan.FromMinutes(10), o.Alerts.DeduplicationWindow);
    }

    [Fact]
    public void Sinks_are_added_and_a_bad_webhook_fails_at_registration()
    {
        var services = new ServiceCollection().AddLogging();
        var recording = new AlertTests.RecordingSink();
        services.AddBpfObservability()
            .AddAlertSink(recording)
            .AddWebhookAlerts(w => w.Endpoint = new Uri("http://127.0.0.1:9/hook"))
            .WithoutLoggerAlerts();
        using var sp = services.BuildServiceProvider();
        var sinks = sp.GetServices<IAlertSink>().ToList();
        Assert.Equal(2, sinks.Count);
        Assert.Contains(recording, sinks);
        Assert.Contains(sinks, s => s is WebhookAlertSink);
        Assert.Equal(sinks.Count, sp.GetRequiredService<AlertPublisher>().Sinks.Count);

        var ex = Assert.Throws<OptionsValidationException>(() => new ServiceCollection().AddBpfObservability().AddWebhookAlerts(w => w.Endpoint = new Uri("file:///tmp/x")));
        Assert.Contains("absolute http or https", ex.Message, StringComparison.Ordinal);
    }
}
