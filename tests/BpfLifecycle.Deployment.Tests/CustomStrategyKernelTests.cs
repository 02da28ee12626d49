// A user-written strategy (canary over a subset of interfaces) driving real hooks on two veth pairs.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Deployment.Tests;

public sealed class CustomStrategyKernelTests : DeploymentTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly NetworkNamespacePair _net2;

    public CustomStrategyKernelTests() => _net2 = Track(new NetworkNamespacePair());

    private IReadOnlyList<AttachPoint> Hooks => [AttachPoint.Parse(Hook), AttachPoint.Parse($"xdp:{_net2.HostInterface}")];

    [Fact]
    public async Task Interface_waves_move_one_hook_at_a_time_then_promote()
    {
        var m = NewManager();
        Assert.Equal(DeploymentResult.Promoted, (await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate(), AttachPoints = Hooks }, cancellationToken: Ct)).Result);
        Assert.Equal(2, m.GetStatus().LinkIds.Count);

        (long V1, long V2)? duringFirstWave = null;
        var progress = new Collector(e =>
        {
            if (e.Kind == RolloutEventKind.Info && e.Message.StartsWith("wave 1/2", StringComparison.Ordinal))
            {
                var v1 = ReadStats(1).Runs;
                var v2 = ReadStats(2).Runs;
                Net.SendUdp(100);     // first wave: on the candidate
                _net2.SendUdp(100);   // not yet: on the baseline
                for (var i = 0; i < 100 && ReadStats(1).Runs - v1 + ReadStats(2).Runs - v2 < 200; i++)
                {
                    Thread.Sleep(20);
                }

                duringFirstWave = (ReadStats(1).Runs - v1, ReadStats(2).Runs - v2);
            }
        });

        var strategy = new InterfaceWaveStrategy(new InterfaceWaveOptions { Waves = [[Hooks[0]], [Hooks[1]]], WaveObservation = TimeSpan.FromMilliseconds(150) });
        var outcome = await m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest { Strategy = strategy, AttachPoints = Hooks }, progress, Ct);

        Assert.True(outcome.Result == DeploymentResult.Promoted, outcome.Reason);
        Assert.Equal((100, 100), duringFirstWave);
        var v2Before = ReadStats(2).Runs;
        Net.SendUdp(50);
        _net2.SendUdp(50);
        Assert.Equal(v2Before + 100, await SettleAsync(() => ReadStats(2).Runs, v2Before + 100));
        Assert.Equal("interface-waves", m.GetStatus().Strategy);
    }

    [Fact]
    public async Task An_unhealthy_first_wave_rolls_back_and_never_touches_the_second_interface()
    {
        var m = NewManager();
        await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate(), AttachPoints = Hooks }, cancellationToken: Ct);
        var progress = new Collector();
        var strategy = new InterfaceWaveStrategy(new InterfaceWaveOptions { Waves = [[Hooks[0]], [Hooks[1]]], WaveObservation = TimeSpan.FromMilliseconds(150) });
        var bad = TestArtifacts.Create(StateRoot, "2.0.0-bad", Hook, errorEvery: 2);
        DeploymentOutcome outcome;
        using (new BackgroundTraffic(Net))
        {
            outcome = await m.DeployAsync(bad, new DeploymentRequest { Strategy = strategy, AttachPoints = Hooks }, progress, Ct);
        }

        Assert.True(outcome.Result == DeploymentResult.RolledBack, outcome.Reason);
        Assert.StartsWith("wave 1 unhealthy", outcome.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(progress.Events, e => e.Message.StartsWith("wave 2/2", StringComparison.Ordinal));
        Assert.Equal(VersionStatus.Failed, m.GetVersions().Single(v => v.Id == 2).Status);
        var v1 = ReadStats(1).Runs;
        Net.SendUdp(30);
        _net2.SendUdp(30);
        Assert.Equal(v1 + 60, await SettleAsync(() => ReadStats(1).Runs, v1 + 60));
    }
}
