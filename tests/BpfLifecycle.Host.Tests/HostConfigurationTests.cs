// The host's configuration before any command runs: keys of the former top-level Rollout and Observability sections
// and bad BpfLifecycle:Rollout values stop bpflc with exit code 2 and a message naming the key, before anything is
// created. Nothing here reaches the kernel.
namespace BpfLifecycle.Host.Tests;

public sealed class HostConfigurationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly string _app = "c" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _stateRoot = Path.Combine(Path.GetTempPath(), "bpflc-cfg-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string _pinRoot = "/sys/fs/bpf/bpflc-cfg-" + Guid.NewGuid().ToString("N")[..10];

    public HostConfigurationTests() => Directory.CreateDirectory(_stateRoot);

    public void Dispose()
    {
        Directory.Delete(_stateRoot, recursive: true);
        if (Directory.Exists(_pinRoot))
        {
            Directory.Delete(_pinRoot, recursive: true);
        }
    }

    [Theory]
    [InlineData("versions", "Rollout__Health__MaxErrorRate", "0.5", "Rollout:Health:MaxErrorRate", "BpfLifecycle:Alerts:Thresholds:ErrorRate")]
    [InlineData("versions", "Rollout__Health__MinimumRuns", "50", "Rollout:Health:MinimumRuns", "BpfLifecycle:Rollout:MinimumRuns")]
    [InlineData("status", "Rollout__RetainedVersions", "5", "Rollout:RetainedVersions", "BpfLifecycle:Rollout:RetainedVersions")]
    [InlineData("status", "Rollout__Canary__StepsPercent__0", "5", "Rollout:Canary:StepsPercent:0", "BpfLifecycle:Rollout:Canary:StepsPercent:0")]
    [InlineData("status", "Rollout__CpuOverhead__DefaultLimit", "0.1", "Rollout:CpuOverhead:DefaultLimit", "BpfLifecycle:Budgets:CpuShareLimit")]
    [InlineData("run", "Observability__PollInterval", "00:00:05", "Observability:PollInterval", "BpfLifecycle:Monitoring:Interval")]
    [InlineData("run", "Observability__Health__MaxCpuShare", "0.2", "Observability:Health:MaxCpuShare", "BpfLifecycle:Alerts:Thresholds:CpuShare")]
    public async Task A_key_of_a_former_top_level_section_exits_2_naming_the_key_and_its_new_place(string command, string variable, string value, string oldKey, string newKey)
    {
        using var p = HostProcess.Start(new Dictionary<string, string> { ["BPFLC_" + variable] = value }, Args(command));
        await p.WaitForExitAsync(Timeout);

        Assert.True(p.ExitCode == 2, p.ToString());
        Assert.Contains($"{oldKey} is no longer read: set {newKey} instead", p.StandardError, StringComparison.Ordinal);
        Assert.Empty(p.StandardOutput);
        Assert.False(Directory.Exists(Path.Combine(_stateRoot, _app)), "nothing may be created under a refused configuration");
    }

    [Fact]
    public async Task Former_sections_in_an_appsettings_file_are_refused_with_every_key_named()
    {
        // appsettings.<environment>.json next to the binary is read after appsettings.json, as an operator's would be.
        var environment = "Retired" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json");
        await File.WriteAllTextAsync(file, """
        {
          "Rollout": { "RetainedVersions": 3, "Health": { "MinimumRuns": 20, "MaxErrorRate": 0.01 } },
          "Observability": { "PollInterval": "00:00:02", "LogDrainInterval": "00:00:01" }
        }
        """, TestContext.Current.CancellationToken);
        try
        {
            using var p = HostProcess.Start(new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = environment }, Args("versions", "--json"));
            await p.WaitForExitAsync(Timeout);

            Assert.True(p.ExitCode == 2, p.ToString());
            Assert.Contains("Rollout:RetainedVersions is no longer read: set BpfLifecycle:Rollout:RetainedVersions instead", p.StandardError, StringComparison.Ordinal);
            Assert.Contains("Rollout:Health:MinimumRuns is no longer read: set BpfLifecycle:Rollout:MinimumRuns instead", p.StandardError, StringComparison.Ordinal);
            Assert.Contains("Rollout:Health:MaxErrorRate is no longer read: set BpfLifecycle:Alerts:Thresholds:ErrorRate instead", p.StandardError, StringComparison.Ordinal);
            Assert.Contains("Observability:PollInterval is no longer read: set BpfLifecycle:Monitoring:Interval instead", p.StandardError, StringComparison.Ordinal);
            Assert.Contains("Observability:LogDrainInterval is no longer read", p.StandardError, StringComparison.Ordinal);
            Assert.Empty(p.StandardOutput);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("BpfLifecycle__Rollout__MinimumRuns", "0", "Rollout.MinimumRuns must be between 1 and")]
    [InlineData("BpfLifecycle__Rollout__RetainedVersions", "0", "Rollout.RetainedVersions must be between 1 and 100.")]
    [InlineData("BpfLifecycle__Rollout__Canary__StepSeconds", "-1", "BpfLifecycle:Rollout:Canary:StepSeconds must be more than 0")]
    [InlineData("BpfLifecycle__Rollout__Canary__StepsPercent__1", "150", "BpfLifecycle:Rollout:Canary:StepsPercent:1 must be between 0.01 and 100 (is 150)")]
    [InlineData("BpfLifecycle__Rollout__BlueGreenWindowSeconds", "0", "BpfLifecycle:Rollout:BlueGreenWindowSeconds must be more than 0")]
    [InlineData("BpfLifecycle__Alerts__Thresholds__ErrorRate", "1.5", "Alerts.Thresholds.ErrorRate must be between 0 and 1")]
    public async Task A_bad_value_exits_2_before_any_command_runs_naming_the_key(string variable, string value, string message)
    {
        // `status` never uses the rollout settings itself: they are validated at start all the same.
        using var p = HostProcess.Start(new Dictionary<string, string> { ["BPFLC_" + variable] = value }, Args("status", "--json"));
        await p.WaitForExitAsync(Timeout);

        Assert.True(p.ExitCode == 2, p.ToString());
        Assert.Contains("invalid configuration", p.StandardError, StringComparison.Ordinal);
        Assert.Contains(message, p.StandardError, StringComparison.Ordinal);
        Assert.Empty(p.StandardOutput);
    }

    private string[] Args(params string[] args) => ["--app", _app, "--state-dir", _stateRoot, "--pin-root", _pinRoot, .. args];
}
