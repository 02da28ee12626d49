// Durable state and configuration without the kernel: registry and journal round trips, corrupt files,
// the dispatcher control word, options validation and DI registration.
using BpfLifecycle.Deployment.DependencyInjection;
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Deployment.Tests;

public sealed class StateAndOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bpflc-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Registry_survives_a_reopen_and_allocates_increasing_ids()
    {
        var path = Path.Combine(_dir, "registry.json");
        var r = new VersionRegistry(path);
        var a = r.Register(id => Record(id));
        var b = r.Register(id => Record(id));
        r.Update((a.Id, v => v with { Status = VersionStatus.Active }));

        var reopened = new VersionRegistry(path);
        Assert.Equal([1L, 2L], reopened.Versions.Select(v => v.Id));
        Assert.Equal(a.Id, reopened.Active!.Id);
        Assert.Equal(VersionStatus.Pending, reopened.Find(b.Id)!.Status);
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Last_rollout_survives_a_reopen_with_every_rule_and_version_changes()
    {
        var path = Path.Combine(_dir, "registry.json");
        var r = new VersionRegistry(path);
        Assert.Null(r.LastRollout);
        var v = r.Register(id => Record(id));
        var health = new HealthEvaluator(new HealthRuleOptions { MinimumRuns = 10, MinimumWindow = TimeSpan.Zero }).Evaluate(
            new HealthSample(100, 50, 100_000, 2, 0.2, 8192, TimeSpan.FromMilliseconds(400)),
            new HealthSample(100, 0, 0, 0, 0, 4096, TimeSpan.FromMilliseconds(400)));
        Assert.Contains(health.Rules, x => double.IsPositiveInfinity(x.Observed)); // ratio against a clean baseline
        r.RecordRollout(new RolloutRecord { Strategy = "canary", VersionId = v.Id, Health = health, RecordedAt = DateTimeOffset.UnixEpoch });
        r.Update((v.Id, x => x with { Status = VersionStatus.Failed }));
        r.Register(id => Record(id));

        var reopened = new VersionRegistry(path);
        var last = reopened.LastRollout!;
        Assert.Equal("canary", last.Strategy);
        Assert.Equal(v.Id, last.VersionId);
        Assert.Equal(DateTimeOffset.UnixEpoch, last.RecordedAt);
        Assert.Equal(health.Verdict, last.Health!.Verdict);
        Assert.Equal(health.Rules, last.Health.Rules);
        Assert.Equal(health.Candidate, last.Health.Candidate);
        Assert.Equal(health.Baseline, last.Health.Baseline);
        Assert.Equal(health.EvaluatedAt, last.Health.EvaluatedAt);
        Assert.Equal(2, reopened.Versions.Count);
    }

    [Fact]
    public void A_corrupt_registry_is_reported_with_its_path()
    {
        var path = Path.Combine(_dir, "registry.json");
        File.WriteAllText(path, "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => new VersionRegistry(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Journal_round_trips_and_completes()
    {
        var j = new Journal(Path.Combine(_dir, "journal.json"));
        Assert.Null(j.Read());
        var e = j.Write(new JournalEntry { OperationId = Guid.NewGuid(), Operation = JournalOperation.Deploy, Phase = JournalPhase.Registered, CandidateVersionId = 3, PreviousVersionId = 2, StartedAt = DateTimeOffset.UnixEpoch });
        e = j.Advance(e, JournalPhase.Observing, "strategy canary");
        var read = j.Read()!;
        Assert.Equal(JournalPhase.Observing, read.Phase);
        Assert.Equal(["strategy canary"], read.Steps);
        Assert.Equal(2, read.PreviousVersionId);
        j.Complete();
        Assert.Null(j.Read());
    }

    [Fact]
    public void Dispatcher_control_word_round_trips_and_rejects_bad_values()
    {
        var c = new DispatcherControl(1, 0, 1_000);
        Assert.Equal(c, DispatcherControl.Decode(c.Encode()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DispatcherControl(2, 0, 0).Encode());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DispatcherControl(0, 1, 10_001).Encode());
    }

    [Fact]
    public void Options_validation_names_each_problem()
    {
        var errors = new DeploymentOptions { Application = "bad name", BpffsRoot = "relative", RetainedVersions = 0 }.Validate().ToList();
        Assert.Contains(errors, e => e.Contains("'bad name'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("BpffsRoot 'relative'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("RetainedVersions", StringComparison.Ordinal));
        var ex = Assert.Throws<ArgumentException>(() => new DeploymentManager(new DeploymentOptions()));
        Assert.Contains("Application is empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddBpfDeployment_registers_a_manager_with_the_configured_options()
    {
        var services = new ServiceCollection();
        services.AddBpfDeployment(o =>
        {
            o.Application = "svc";
            o.StateDirectory = _dir;
            o.BpffsRoot = "/sys/fs/bpf/bpflifecycle-test";
        }).UseHealthEvaluator<AlwaysHealthy>();
        using var sp = services.BuildServiceProvider();

        var m = sp.GetRequiredService<DeploymentManager>();
        Assert.Equal("svc", m.Application);
        Assert.IsType<AlwaysHealthy>(sp.GetRequiredService<IHealthEvaluator>());
        Assert.Same(m, sp.GetRequiredService<DeploymentManager>());
    }

    [Fact]
    public void AddBpfDeployment_defaults_to_the_observability_health_rules()
    {
        var services = new ServiceCollection();
        services.AddBpfDeployment(o =>
        {
            o.Application = "svc";
            o.StateDirectory = _dir;
            o.BpffsRoot = "/sys/fs/bpf/bpflifecycle-test";
        });
        using var sp = services.BuildServiceProvider();

        var eval = Assert.IsType<HealthEvaluator>(sp.GetRequiredService<IHealthEvaluator>());
        var report = eval.Evaluate(new HealthSample(10, 2, 0, 0, 0, 0, TimeSpan.FromMilliseconds(100)), null);
        Assert.Equal(HealthVerdict.Unhealthy, report.Verdict);
        Assert.Contains(report.Failures, f => f.Rule == HealthRules.ErrorRate);
    }

    [Fact]
    public void AddBpfDeployment_fails_on_invalid_options_with_every_problem_named()
    {
        var services = new ServiceCollection();
        services.AddBpfDeployment(o => o.RetainedVersions = 0);
        using var sp = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<DeploymentOptions>>().Value);
        Assert.Contains(e.Failures, f => f.Contains("Application is empty", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("RetainedVersions", StringComparison.Ordinal));
    }

    [Fact]
    public void Test_vector_report_describes_failures()
    {
        var r = new TestVectorReport(true, [new("a", 2, 2, 5), new("b", 2, 0, 5)]);
        Assert.False(r.Passed);
        Assert.Equal("vector 'b' returned 0, expected 2", r.Describe());
        Assert.True(new TestVectorReport(false, []).Passed);
    }

    private static VersionRecord Record(long id) => new() { Id = id, Name = "n", Label = "1", ArtifactSha256 = new string('c', 64), Program = "p", DeployedAt = DateTimeOffset.UnixEpoch };

    private sealed class AlwaysHealthy : IHealthEvaluator
    {
        public HealthReport Evaluate(HealthSample candidate, HealthSample? baseline) => new(HealthVerdict.Healthy, [], candidate, baseline, DateTimeOffset.UnixEpoch);
    }
}
