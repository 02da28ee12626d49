// End-to-end rollouts on a veth pair with real traffic: immediate, blue-green, canary share, automatic
// rollback of faulty candidates, rollback to a retained version, and state carried across versions.
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Tests;

public sealed class RolloutKernelTests : DeploymentTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ulong ReadMirror(uint key)
    {
        using var map = Bpf.GetPinnedMap(Path.Combine(AppPinDir, "registry"));
        Span<byte> k = stackalloc byte[4];
        Span<byte> v = stackalloc byte[8];
        BitConverter.TryWriteBytes(k, key);
        Assert.True(Bpf.MapLookup(map, k, v));
        return BitConverter.ToUInt64(v);
    }

    private static void AssertResult(DeploymentResult expected, DeploymentOutcome outcome) =>
        Assert.True(outcome.Result == expected, $"expected {expected}, got {outcome.Result}: {outcome.Reason}");

    [Fact]
    public async Task First_deployment_attaches_the_version_and_counts_traffic()
    {
        var m = NewManager();
        var outcome = await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);

        AssertResult(DeploymentResult.Promoted, outcome);
        var sent = Net.SendUdp(300);
        var status = m.GetStatus();
        Assert.Equal(1, status.ActiveVersionId);
        Assert.NotNull(status.ActiveProgramId);
        Assert.Single(status.LinkIds);
        Assert.Null(status.DispatcherProgramId);
        Assert.Equal((ulong)sent, await SettleAsync(() => ReadPackets(1), (ulong)sent));
        Assert.Equal(VersionStatus.Active, Assert.Single(m.GetVersions()).Status);
    }

    [Fact]
    public async Task Blue_green_keeps_the_link_changes_the_program_and_carries_state_without_losing_packets()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        var warmup = Net.SendUdp(500);
        var before = m.GetStatus();

        int sent;
        DeploymentOutcome outcome;
        using (var traffic = new BackgroundTraffic(Net))
        {
            while (traffic.Sent < 200)
            {
                await Task.Delay(5, Ct);
            }

            outcome = await m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromMilliseconds(400) }) }, cancellationToken: Ct);
            await Task.Delay(50, Ct);
            sent = traffic.Stop();
        }

        await Task.Delay(50, Ct);
        AssertResult(DeploymentResult.Promoted, outcome);
        var after = m.GetStatus();
        Assert.Equal(before.LinkIds.Values.Single(), after.LinkIds.Values.Single());
        Assert.NotEqual(before.ActiveProgramId, after.ActiveProgramId);
        Assert.Equal(2, after.ActiveVersionId);

        // One test vector ran through the kernel on green; every packet ran exactly one version.
        var v1 = ReadStats(1);
        var v2 = ReadStats(2);
        Assert.Equal((ulong)(warmup + sent + 1), await SettleAsync(() => ReadPackets(2), (ulong)(warmup + sent + 1)));
        Assert.Equal(warmup + sent + 1, v1.Runs + v2.Runs);
        Assert.True(v2.Runs > 100, $"green ran {v2.Runs} times");
        // BPF-side tools read the active version and its program id from the pinned registry map.
        Assert.Equal(2UL, ReadMirror(0));
        Assert.Equal((ulong)after.ActiveProgramId!.Value, ReadMirror(3));
        Assert.Equal(VersionStatus.Inactive, m.GetVersions().Single(v => v.Id == 1).Status);
    }

    [Fact]
    public async Task Canary_share_of_ten_percent_is_observed_within_three_points_over_20k_packets()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        DispatcherCounters? atTen = null, beforeTen = null;
        var progress = new Collector(e =>
        {
            if (e.Kind == RolloutEventKind.TrafficSwitched && e.Message.StartsWith("canary share 10%", StringComparison.Ordinal))
            {
                using var d = Dispatcher.FromPins(Path.Combine(AppPinDir, "dispatcher"));
                beforeTen = d.ReadCounters();
                Net.SendUdp(20_000);
                atTen = d.ReadCounters();
                for (var i = 0; i < 100 && atTen.Picks.Sum() - beforeTen.Picks.Sum() < 20_000; i++)
                {
                    Thread.Sleep(20);
                    atTen = d.ReadCounters();
                }
            }
        });

        var outcome = await m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest
        {
            Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [1_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(200) }),
        }, progress, Ct);

        AssertResult(DeploymentResult.Promoted, outcome);
        Assert.NotNull(atTen);
        var status = m.GetStatus();
        Assert.NotNull(status.DispatcherProgramId);
        Assert.Equal(2, status.ActiveVersionId);

        // Slot 0 held v1 (baseline), slot 1 the candidate.
        var basePicks = atTen!.Picks[0] - beforeTen!.Picks[0];
        var canaryPicks = atTen.Picks[1] - beforeTen.Picks[1];
        var total = basePicks + canaryPicks;
        var share = (double)canaryPicks / total;
        TestContext.Current.TestOutputHelper?.WriteLine($"canary 10%: {canaryPicks} of {total} packets = {share:P2}");
        Assert.InRange(total, 19_000, 20_500);
        Assert.InRange(share, 0.07, 0.13);
        Assert.Equal(0, atTen.Missed - beforeTen.Missed);
        // The candidate's own counter agrees with the dispatcher (tail calls reached it).
        Assert.InRange(ReadStats(2).Runs, canaryPicks, canaryPicks + 5);
    }

    [Fact]
    public async Task Status_after_a_restart_keeps_the_strategy_and_the_last_health_verdict()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        DeploymentOutcome promoted, rolledBack;
        using (new BackgroundTraffic(Net))
        {
            promoted = await m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [5_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(200) }),
            }, cancellationToken: Ct);
            AssertResult(DeploymentResult.Promoted, promoted);

            // A new manager over the same state directory, as after a host restart.
            using (var restarted = new DeploymentManager(Options))
            {
                var status = restarted.GetStatus();
                Assert.Equal("canary", status.Strategy);
                Assert.Equal(2, status.ActiveVersionId);
                Assert.NotNull(status.Health);
                Assert.Equal(HealthVerdict.Healthy, status.Health!.Verdict);
                Assert.Equal(promoted.Evidence!.Rules, status.Health.Rules);
                Assert.Equal(promoted.Evidence.Candidate, status.Health.Candidate);
                Assert.True(status.Health.Candidate.Runs > 0, "the last step's evidence, not an empty report");
            }

            rolledBack = await m.DeployAsync(MakeArtifact("3.0.0-bad", errorEvery: 2), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [5_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(200), RunTestVectors = false }),
            }, cancellationToken: Ct);
            AssertResult(DeploymentResult.RolledBack, rolledBack);
        }

        using var again = new DeploymentManager(Options);
        var after = again.GetStatus();
        Assert.Equal("canary", after.Strategy);
        Assert.Equal(2, after.ActiveVersionId);
        Assert.Equal(HealthVerdict.Unhealthy, after.Health!.Verdict);
        Assert.Equal(rolledBack.Evidence!.Rules, after.Health.Rules);
        var errorRate = Assert.Single(after.Health.Failures, f => f.Rule == "error-rate");
        Assert.Contains("error rate", errorRate.Explanation, StringComparison.Ordinal);
        Assert.True(errorRate.Observed > 0.01, $"error rate {errorRate.Observed}");

        // An immediate switch observes nothing: the strategy changes, the last verdict stays.
        AssertResult(DeploymentResult.Promoted, await m.RollbackAsync(cancellationToken: Ct));
        using var afterRollback = new DeploymentManager(Options);
        var rolled = afterRollback.GetStatus();
        Assert.Equal("immediate", rolled.Strategy);
        Assert.Equal(1, rolled.ActiveVersionId);
        Assert.Equal(HealthVerdict.Unhealthy, rolled.Health!.Verdict);
    }

    [Fact]
    public async Task Faulty_canary_is_rolled_back_automatically_with_evidence()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        var v1Program = m.GetStatus().ActiveProgramId;

        DeploymentOutcome outcome;
        using (var traffic = new BackgroundTraffic(Net))
        {
            // Without test vectors: whether the vector's packet is an error depends on the shared packet count's
            // parity, and this test is about the canary's health evidence.
            outcome = await m.DeployAsync(MakeArtifact("2.0.0-bad", errorEvery: 2), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [5_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(400), RunTestVectors = false }),
            }, cancellationToken: Ct);
        }

        AssertResult(DeploymentResult.RolledBack, outcome);
        Assert.True(outcome.Evidence is not null, outcome.Reason);
        Assert.Equal(HealthVerdict.Unhealthy, outcome.Evidence!.Verdict);
        Assert.Contains(outcome.Evidence.Failures, f => f.Rule == "error-rate");
        Assert.Contains("error rate", outcome.Reason, StringComparison.Ordinal);
        var v2 = m.GetVersions().Single(v => v.Id == 2);
        Assert.Equal(VersionStatus.Failed, v2.Status);
        Assert.Contains("error rate", v2.Reason, StringComparison.Ordinal);
        Assert.Contains("error-rate", File.ReadAllText(m.GetEvidencePath(2)!), StringComparison.Ordinal);

        var status = m.GetStatus();
        Assert.Equal(1, status.ActiveVersionId);
        Assert.Equal(v1Program, status.ActiveProgramId);
        Assert.Equal(0, status.CanaryBasisPoints);
        Assert.False(Directory.Exists(Path.Combine(AppPinDir, "versions", "2")));
        // The dispatcher was inserted for this canary only: the link runs v1 directly again.
        Assert.Null(status.DispatcherProgramId);
        var before = ReadStats(1).Runs;
        var sent = Net.SendUdp(200);
        Assert.Equal(before + sent, await SettleAsync(() => ReadStats(1).Runs, before + sent));
    }

    [Fact]
    public async Task Blue_green_with_a_failing_test_vector_never_receives_traffic()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        var outcome = await m.DeployAsync(MakeArtifact("2.0.0", expectedVerdict: 1), new DeploymentRequest { Strategy = RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromMilliseconds(100) }) }, cancellationToken: Ct);

        AssertResult(DeploymentResult.RolledBack, outcome);
        Assert.Contains("vector 'udp-passes' returned 2, expected 1", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(1, m.GetStatus().ActiveVersionId);
    }

    [Fact]
    public async Task Faulty_blue_green_is_switched_back_after_its_observation_window()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        var v1Program = m.GetStatus().ActiveProgramId;
        DeploymentOutcome outcome;
        using (new BackgroundTraffic(Net))
        {
            // error_every = 3 aborts every third packet; vectors are off so only the observation can catch it.
            outcome = await m.DeployAsync(MakeArtifact("2.0.0", errorEvery: 3), new DeploymentRequest { Strategy = RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromMilliseconds(400), RunTestVectors = false }) }, cancellationToken: Ct);
        }

        AssertResult(DeploymentResult.RolledBack, outcome);
        Assert.Equal(v1Program, m.GetStatus().ActiveProgramId);
        Assert.True(outcome.Evidence is not null, outcome.Reason);
        Assert.True(outcome.Evidence.Candidate.Errors > 0);
        Assert.Equal(HealthVerdict.Unhealthy, outcome.Evidence.Verdict);
    }

    [Fact]
    public async Task Cancelling_a_rollout_switches_back_then_reports_the_cancellation()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        var v1Program = m.GetStatus().ActiveProgramId;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var progress = new Collector(e =>
        {
            if (e.Kind == RolloutEventKind.TrafficSwitched)
            {
                cts.CancelAfter(100); // green serves; its 30 s window is cut short
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromSeconds(30) }) }, progress, cts.Token));

        Assert.Contains(progress.Events, e => e.Kind == RolloutEventKind.RolledBack && e.Message.Contains("canceled", StringComparison.OrdinalIgnoreCase));
        var status = m.GetStatus();
        Assert.Equal(1, status.ActiveVersionId);
        Assert.Equal(v1Program, status.ActiveProgramId);
        Assert.Null(status.PendingPhase);
        Assert.Equal(VersionStatus.Failed, m.GetVersions().Single(v => v.Id == 2).Status);
        var before = ReadStats(1).Runs;
        var sent = Net.SendUdp(100);
        Assert.Equal(before + sent, await SettleAsync(() => ReadStats(1).Runs, before + sent));
    }

    [Fact]
    public async Task Rollback_returns_to_the_previous_version_and_keeps_state()
    {
        var m = NewManager();
        AssertResult(DeploymentResult.Promoted, await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));
        var v1Program = m.GetStatus().ActiveProgramId;
        await m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        var sent = Net.SendUdp(100);

        var outcome = await m.RollbackAsync(cancellationToken: Ct);

        AssertResult(DeploymentResult.Promoted, outcome);
        Assert.Equal(1, m.GetStatus().ActiveVersionId);
        Assert.Equal(v1Program, m.GetStatus().ActiveProgramId);
        Assert.Equal(VersionStatus.Inactive, m.GetVersions().Single(v => v.Id == 2).Status);
        var more = Net.SendUdp(50);
        Assert.Equal((ulong)(sent + more), await SettleAsync(() => ReadPackets(1), (ulong)(sent + more)));
    }

    [Fact]
    public async Task Retention_releases_old_versions_and_rollback_reloads_them_from_the_artifact_store()
    {
        var m = new DeploymentManager(Options);
        Defer(() => { m.UndeployAsync().GetAwaiter().GetResult(); m.Dispose(); });
        for (var i = 1; i <= 4; i++)
        {
            await m.DeployAsync(MakeArtifact($"{i}.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        }

        var versions = m.GetVersions();
        Assert.Equal(VersionStatus.Deprecated, versions[0].Status);
        Assert.False(Directory.Exists(Path.Combine(AppPinDir, "versions", "1")));
        Assert.Equal(VersionStatus.Active, versions[3].Status);
        var sent = Net.SendUdp(40);

        var outcome = await m.RollbackAsync(1, cancellationToken: Ct);

        AssertResult(DeploymentResult.Promoted, outcome);
        Assert.Equal(1, m.GetStatus().ActiveVersionId);
        var more = Net.SendUdp(10);
        // The reloaded version reused the live state map.
        Assert.Equal((ulong)(sent + more), await SettleAsync(() => ReadPackets(1), (ulong)(sent + more)));
    }

    [Fact]
    public async Task Undeploy_detaches_and_removes_every_pin()
    {
        var m = NewManager();
        await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [10_000], StepObservation = TimeSpan.FromMilliseconds(50) }) }, cancellationToken: Ct);
        Assert.True(Directory.Exists(AppPinDir));

        await m.UndeployAsync(cancellationToken: Ct);

        Assert.False(Directory.Exists(AppPinDir));
        Assert.Null(m.GetStatus().ActiveVersionId);
        Assert.Empty(m.GetStatus().LinkIds);
    }
}
