// Versions of a tracepoint program: perf-event links cannot change their program, so the manager puts
// the generated dispatcher on the hook from the first deployment and switches versions behind it.
using System.Runtime.InteropServices;
using BpfLifecycle.Deployment.Strategies;

namespace BpfLifecycle.Deployment.Tests;

public sealed partial class TracepointDeploymentTests : DeploymentTestBase
{
    private const string TracepointHook = "tracepoint:syscalls/sys_enter_getppid";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [LibraryImport("libc")]
    private static partial int getppid();

    private static void Fire(int times)
    {
        for (var i = 0; i < times; i++)
        {
            _ = getppid();
        }
    }

    [Fact]
    public async Task Blue_green_on_a_tracepoint_switches_versions_behind_the_dispatcher()
    {
        var m = NewManager();
        var v1 = TestArtifacts.Create(StateRoot, "1.0.0", TracepointHook, stateMaps: ["calls"], objectName: "lifecycle_tp", program: "lifecycle_tp");
        var first = await m.DeployAsync(v1, new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        Assert.True(first.Result == DeploymentResult.Promoted, first.Reason);
        Assert.NotNull(m.GetStatus().DispatcherProgramId);
        Fire(100);
        Assert.True(ReadStats(1).Runs >= 100);
        var link = m.GetStatus().LinkIds.Values.Single();

        var progress = new Collector();
        var v2 = TestArtifacts.Create(StateRoot, "2.0.0", TracepointHook, stateMaps: ["calls"], objectName: "lifecycle_tp", program: "lifecycle_tp");
        var outcome = await m.DeployAsync(v2, new DeploymentRequest { Strategy = RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromMilliseconds(200) }) }, progress, Ct);

        Assert.True(outcome.Result == DeploymentResult.Promoted, outcome.Reason);
        Assert.Contains(progress.Events, e => e.Kind == RolloutEventKind.TestVectors && e.Message.Contains("no test run", StringComparison.Ordinal));
        Assert.Equal(link, m.GetStatus().LinkIds.Values.Single());
        var v1Runs = ReadStats(1).Runs;
        var v2Runs = ReadStats(2).Runs;
        Fire(100);
        Assert.Equal(v1Runs, ReadStats(1).Runs);
        Assert.True(ReadStats(2).Runs >= v2Runs + 100);
    }
}
