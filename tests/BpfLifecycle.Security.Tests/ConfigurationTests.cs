// Options bound from appsettings.json and environment variables, validated at start with errors naming the field,
// and the services AddBpfLifecycle registers.
using BpfLifecycle.Deployment.Budgets;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Observability;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.TestKit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Security.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bpflc-sec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string AppSettings(string keyPath) => $$"""
    {
      "BpfLifecycle": {
        "Application": "edge-firewall",
        "PinRoot": "/sys/fs/bpf/bpflc-cfg-test",
        "StateDirectory": "{{_dir}}/state",
        "Programs": {
          "lifecycle_xdp": {
            "Enabled": true,
            "SamplingPercent": 10,
            "AttachPoints": [ "xdp:eth1" ],
            "Limits": { "MaxMapMemoryBytes": 1048576, "MaxCpuShare": 0.02 }
          },
          "open_tracer": {
            "Enabled": false,
            "SamplingPercent": 100,
            "AttachPoints": [ "tracepoint:syscalls/sys_enter_openat" ],
            "Filters": { "Pids": [ 1, 42 ], "Syscalls": [ "openat", "openat2" ] }
          }
        },
        "Alerts": {
          "Thresholds": { "ErrorRate": 0.02, "CpuShare": 0.1, "MeanDuration": "00:00:00.002" },
          "Channels": [ { "Type": "Log" }, { "Type": "Webhook", "Url": "http://127.0.0.1:9/alerts" } ]
        },
        "Monitoring": { "Port": 9100, "Interval": "00:00:05" },
        "Security": {
          "TrustedKeys": [ { "Id": "release", "Path": "{{keyPath}}" } ],
          "KeepCapabilities": [ "CAP_BPF", "CAP_NET_ADMIN" ],
          "Audit": { "Path": "{{_dir}}/audit/audit.jsonl" },
          "Redaction": { "Patterns": [ "cust-[0-9]+" ] }
        },
        "Budgets": { "PerProgramBytes": 2097152, "PerApplicationBytes": 1073741824, "MaxPrograms": 10, "IdleProgramTimeout": "01:00:00" }
      }
    }
    """;

    private IConfiguration Configuration(string json, string? envPrefix = null)
    {
        var path = Path.Combine(_dir, $"appsettings-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        var builder = new ConfigurationBuilder().AddJsonFile(path);
        if (envPrefix is not null)
        {
            builder.AddEnvironmentVariables(envPrefix);
        }

        return builder.Build();
    }

    private string PublicKey()
    {
        KernelTest.RequireTool("openssl");
        return OpenSsl.EcKey(_dir, "release").Public;
    }

    [Fact]
    public void Options_bind_from_json_and_environment_variables_override_them()
    {
        var key = PublicKey();
        var prefix = $"BPFLC_T{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable(prefix + "BpfLifecycle__Programs__lifecycle_xdp__SamplingPercent", "25");
        Environment.SetEnvironmentVariable(prefix + "BpfLifecycle__Monitoring__Port", "9200");
        try
        {
            var services = new ServiceCollection().AddLogging();
            services.AddBpfLifecycle(Configuration(AppSettings(key), prefix));
            using var sp = services.BuildServiceProvider();
            sp.GetRequiredService<IStartupValidator>().Validate();
            var o = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value;

            Assert.Equal("edge-firewall", o.Application);
            Assert.Equal("/sys/fs/bpf/bpflc-cfg-test/edge-firewall", o.PinDirectory);
            Assert.Equal(25, o.Programs["lifecycle_xdp"].SamplingPercent);
            Assert.Equal(["xdp:eth1"], o.Programs["lifecycle_xdp"].AttachPoints);
            Assert.Equal(0.02, o.Programs["lifecycle_xdp"].Limits.MaxCpuShare);
            Assert.False(o.Programs["open_tracer"].Enabled);
            Assert.Equal([1, 42], o.Programs["open_tracer"].Filters.Pids);
            Assert.Equal(["openat", "openat2"], o.Programs["open_tracer"].Filters.Syscalls);
            Assert.Equal(9200, o.Monitoring.Port);
            Assert.Equal(TimeSpan.FromSeconds(5), o.Monitoring.Interval);
            Assert.Equal(AlertChannelType.Webhook, o.Alerts.Channels[1].Type);
            Assert.Equal(TimeSpan.FromHours(1), o.Budgets.IdleProgramTimeout);

            // Flowed into the layers.
            var obs = sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
            Assert.Equal(TimeSpan.FromSeconds(5), obs.PollInterval);
            Assert.Equal(0.02, obs.Health.MaxErrorRate);
            Assert.Equal(TimeSpan.FromMilliseconds(2), obs.Health.MaxMeanDuration);
            Assert.Contains(sp.GetServices<IAlertSink>(), s => s is WebhookAlertSink);
            Assert.Equal(2 * 1024 * 1024, sp.GetRequiredService<ResourceBudgetOptions>().PerProgramBytes);
            Assert.Equal("release", Assert.Single(sp.GetRequiredService<TrustStore>().Keys).KeyId);
            Assert.Equal(["signature", "budget", "capabilities"], sp.GetServices<IDeploymentGate>().OrderBy(g => g.Order).Select(g => g.Name));
            Assert.Equal("CAP_NET_ADMIN,CAP_BPF", sp.GetRequiredService<CapabilityDropHook>().Keep.ToString());

            var audit = sp.GetRequiredService<IAuditLog>();
            audit.Append(new AuditEvent(AuditAction.Load, AuditOutcome.Success) { Details = new Dictionary<string, string?> { ["note"] = "for cust-1234" } });
            var entry = Assert.Single(AuditLogVerifier.ReadAll(Path.Combine(_dir, "audit", "audit.jsonl")));
            Assert.Equal("for ***", entry.Details["note"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "BpfLifecycle__Programs__lifecycle_xdp__SamplingPercent", null);
            Environment.SetEnvironmentVariable(prefix + "BpfLifecycle__Monitoring__Port", null);
        }
    }

    [Fact]
    public void The_meta_package_registers_a_deployment_manager_with_the_gates_and_the_monitors_health_rules()
    {
        var dir = Directory.CreateTempSubdirectory("bpflc-cfg-").FullName;
        try
        {
            using var sp = BuildSdk(dir, o => o.PinRoot = "/sys/fs/bpf/bpflc-cfg-test");
            var deployment = sp.GetRequiredService<IOptions<BpfLifecycle.Deployment.DeploymentOptions>>().Value;
            Assert.Equal(("edge-firewall", dir, "/sys/fs/bpf/bpflc-cfg-test"), (deployment.Application, deployment.StateDirectory, deployment.BpffsRoot));
            Assert.IsType<BpfLifecycle.Observability.Health.HealthEvaluator>(sp.GetRequiredService<BpfLifecycle.Observability.Health.IHealthEvaluator>());
            Assert.Equal(["signature", "budget", "capabilities"], sp.GetServices<BpfLifecycle.Deployment.Gates.IDeploymentGate>().OrderBy(g => g.Order).Select(g => g.Name));
            Assert.NotNull(sp.GetRequiredService<BpfLifecycle.Deployment.DeploymentManager>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Rollouts_are_judged_by_the_alert_thresholds_with_a_rollouts_evidence_minimum()
    {
        var dir = Directory.CreateTempSubdirectory("bpflc-cfg-").FullName;
        try
        {
            using var sp = BuildSdk(dir, o =>
            {
                o.Alerts.Thresholds.ErrorRate = 0.2;
                o.Rollout.MinimumRuns = 7;
                o.Rollout.RetainedVersions = 5;
            });
            var manager = sp.GetRequiredService<BpfLifecycle.Deployment.DeploymentManager>();
            var window = TimeSpan.FromSeconds(1);
            HealthVerdict Judge(long runs, long errors) => manager.HealthEvaluator.Evaluate(new HealthSample(runs, errors, 0, 0, 0, 0, window), null).Verdict;

            // 10 runs in one second are enough for a rollout (the monitor wants 100 runs over 30 s), and 10% errors
            // pass the configured 20% threshold; a candidate failing critically is judged before the minimum.
            Assert.Equal(HealthVerdict.Healthy, Judge(10, 1));
            Assert.Equal(HealthVerdict.InsufficientEvidence, Judge(6, 0));
            Assert.Equal(HealthVerdict.Unhealthy, Judge(5, 3));
            Assert.Equal(HealthVerdict.InsufficientEvidence, sp.GetRequiredService<IHealthEvaluator>().Evaluate(new HealthSample(10, 1, 0, 0, 0, 0, window), null).Verdict);
            Assert.Equal(5, sp.GetRequiredService<IOptions<BpfLifecycle.Deployment.DeploymentOptions>>().Value.RetainedVersions);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Bad_rollout_options_fail_at_start_naming_them()
    {
        var failures = StartupFailure(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["BpfLifecycle:Application"] = "a",
            ["BpfLifecycle:Rollout:MinimumRuns"] = "0",
            ["BpfLifecycle:Rollout:RetainedVersions"] = "0",
        }).Build());
        Assert.Contains(failures, f => f.Contains("Rollout.MinimumRuns must be between 1 and", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Rollout.RetainedVersions must be between 1 and 100", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutMaintenanceService_leaves_out_only_the_maintenance_loop()
    {
        static int HostedServices(IServiceCollection services) => services.Count(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService));
        var with = new ServiceCollection().AddLogging();
        with.AddBpfLifecycle(o => o.Application = "a");
        var without = new ServiceCollection().AddLogging();
        without.AddBpfLifecycle(o => o.Application = "a").WithoutMaintenanceService();
        Assert.Equal(HostedServices(with) - 1, HostedServices(without));
    }

    /// <summary>The SDK for application "edge-firewall" with its state in <paramref name="stateDirectory"/>, unsigned artifacts allowed.</summary>
    private static ServiceProvider BuildSdk(string stateDirectory, Action<BpfLifecycleOptions> configure)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddBpfLifecycle(o =>
        {
            o.Application = "edge-firewall";
            o.StateDirectory = stateDirectory;
            o.Security.AllowUnsigned = true;
            configure(o);
        });
        return services.BuildServiceProvider();
    }

    private static List<string> StartupFailure(IConfiguration configuration)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddBpfLifecycle(configuration);
        using var sp = services.BuildServiceProvider();
        var e = Assert.ThrowsAny<Exception>(() => sp.GetRequiredService<IStartupValidator>().Validate());
        var failures = (e is AggregateException a ? a.InnerExceptions : [e]).OfType<OptionsValidationException>().SelectMany(v => v.Failures).Distinct().ToList();
        Assert.NotEmpty(failures);
        return failures;
    }

    [Fact]
    public void Attribute_rules_fail_at_start_naming_the_field()
    {
        var json = AppSettings(PublicKey())
            .Replace("\"Application\": \"edge-firewall\"", "\"Application\": \"bad name!\"", StringComparison.Ordinal)
            .Replace("\"SamplingPercent\": 10", "\"SamplingPercent\": 150", StringComparison.Ordinal)
            .Replace("\"Port\": 9100", "\"Port\": 70000", StringComparison.Ordinal)
            .Replace("\"CpuShare\": 0.1", "\"CpuShare\": 1.5", StringComparison.Ordinal);
        var all = string.Join("\n", StartupFailure(Configuration(json)));
        Assert.Contains("Application must be 1 to 64 letters", all, StringComparison.Ordinal);
        Assert.Contains("Monitoring.Port", all, StringComparison.Ordinal);
        Assert.Contains("Alerts.Thresholds.CpuShare", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Programs:lifecycle_xdp:SamplingPercent must be between 0 and 100 (is 150)", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Cross_field_rules_fail_at_start_naming_the_fields()
    {
        var json = AppSettings(PublicKey())
            .Replace("\"AttachPoints\": [ \"xdp:eth1\" ]", "\"AttachPoints\": [ \"xdp:eth1\", \"kprobe:do_sys_open\" ]", StringComparison.Ordinal)
            .Replace("\"MaxMapMemoryBytes\": 1048576", "\"MaxMapMemoryBytes\": 4194304", StringComparison.Ordinal)
            .Replace("\"PerApplicationBytes\": 1073741824", "\"PerApplicationBytes\": 1048576", StringComparison.Ordinal)
            .Replace("\"Url\": \"http://127.0.0.1:9/alerts\"", "\"Url\": \"/relative\"", StringComparison.Ordinal)
            .Replace("\"CAP_NET_ADMIN\"", "\"CAP_WARP_DRIVE\"", StringComparison.Ordinal)
            .Replace("\"cust-[0-9]+\"", "\"cust-[0-9\"", StringComparison.Ordinal)
            .Replace("\"Syscalls\": [ \"openat\", \"openat2\" ]", "\"Syscalls\": [ \"Open At\" ]", StringComparison.Ordinal);
        var all = string.Join("\n", StartupFailure(Configuration(json)));

        Assert.Contains("BpfLifecycle:Programs:lifecycle_xdp:AttachPoints:1: Attach point 'kprobe:do_sys_open' has unknown kind 'kprobe'", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Programs:lifecycle_xdp:Limits:MaxMapMemoryBytes (4194304) exceeds BpfLifecycle:Budgets:PerProgramBytes (2097152)", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Budgets:PerProgramBytes (2097152) must not exceed BpfLifecycle:Budgets:PerApplicationBytes (1048576)", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Alerts:Channels:1:Url must be an absolute http(s) URL", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Security:KeepCapabilities:1: 'CAP_WARP_DRIVE' is not a capability name", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Security:Redaction:Patterns:0 is not a valid regular expression", all, StringComparison.Ordinal);
        Assert.Contains("BpfLifecycle:Programs:open_tracer:Filters:Syscalls has 'Open At'", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Signatures_are_required_unless_explicitly_allowed_and_keys_must_be_readable()
    {
        var key = PublicKey();
        var noKeys = AppSettings(key).Replace($"\"TrustedKeys\": [ {{ \"Id\": \"release\", \"Path\": \"{key}\" }} ],", string.Empty, StringComparison.Ordinal);
        Assert.Contains(StartupFailure(Configuration(noKeys)), f => f.Contains("BpfLifecycle:Security:TrustedKeys is empty", StringComparison.Ordinal) && f.Contains("AllowUnsigned", StringComparison.Ordinal));

        var allowed = noKeys.Replace("\"Security\": {", "\"Security\": { \"AllowUnsigned\": true,", StringComparison.Ordinal);
        var services = new ServiceCollection().AddLogging();
        services.AddBpfLifecycle(Configuration(allowed));
        using (var sp = services.BuildServiceProvider())
        {
            sp.GetRequiredService<IStartupValidator>().Validate();
        }

        var missing = AppSettings(Path.Combine(_dir, "nope.pub"));
        Assert.Contains(StartupFailure(Configuration(missing)), f => f.Contains("BpfLifecycle:Security:TrustedKeys:0:Path", StringComparison.Ordinal) && f.Contains("does not exist", StringComparison.Ordinal));

        var privateKey = AppSettings(Path.Combine(_dir, "release.key"));
        Assert.Contains(StartupFailure(Configuration(privateKey)), f => f.Contains("BpfLifecycle:Security:TrustedKeys:0: Key 'release'", StringComparison.Ordinal) && f.Contains("PUBLIC KEY", StringComparison.Ordinal));
    }

    [Fact]
    public void Code_configuration_and_the_builder_chain()
    {
        var services = new ServiceCollection().AddLogging();
        var builder = services.AddBpfLifecycle(o =>
        {
            o.Application = "code-app";
            o.Security.AllowUnsigned = true;
            o.Security.Audit.Path = Path.Combine(_dir, "code-audit.jsonl");
        });
        var again = builder.AddGate<AlwaysAllowGate>().AddAlertSink<NullSink>();
        Assert.Same(builder, again);
        using var sp = services.BuildServiceProvider();
        sp.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal(["signature", "budget", "capabilities", "always"], sp.GetServices<IDeploymentGate>().OrderBy(g => g.Order).Select(g => g.Name));
        Assert.Contains(sp.GetServices<IAlertSink>(), s => s is NullSink);
        Assert.Equal(ResourceBudgetOptions.DefaultPerApplicationBytes, sp.GetRequiredService<ResourceBudgetOptions>().PerApplicationBytes);
        Assert.Contains("SealingKeyDirectory", Assert.Throws<InvalidOperationException>(() => sp.GetRequiredService<BpfLifecycle.Maps.Sealed.ISealingKeyProvider>()).Message, StringComparison.Ordinal);
    }

    private sealed class AlwaysAllowGate : IDeploymentGate
    {
        public string Name => "always";

        public int Order => 1000;

        public ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken) => ValueTask.FromResult(GateResult.Allow("always"));
    }

    private sealed class NullSink : IAlertSink
    {
        public string Name => "null";

        public ValueTask SendAsync(Alert alert, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
