// Versions of a TCX ingress program on a veth with traffic: blue-green keeps the TCX link, swaps the
// program with a compare-and-swap and carries the state map; a canary then routes through the dispatcher.
using BpfLifecycle.Deployment.Strategies;

namespace BpfLifecycle.Deployment.Tests;

public sealed class TcxDeploymentTests : DeploymentTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string TcxHook => $"tcx-ingress:{Net.HostInterface}";

    [Fact]
    public async Task Tcx_blue_green_then_canary_carry_state_on_the_same_link()
    {
        var m = NewManager();
        var v1 = TestArtifacts.Create(StateRoot, "1.0.0", TcxHook, expectedVerdict: 0, objectName: "lifecycle_tc");
        var first = await m.DeployAsync(v1, new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        Assert.True(first.Result == DeploymentResult.Promoted, first.Reason);
        var link = m.GetStatus().LinkIds.Values.Single();
        var sent = Net.SendUdp(100);
        Assert.Equal((ulong)sent, await SettleAsync(() => ReadPackets(1), (ulong)sent));

        var v2 = TestArtifacts.Create(StateRoot, "2.0.0", TcxHook, expectedVerdict: 0, objectName: "lifecycle_tc");
        var bg = await m.DeployAsync(v2, new DeploymentRequest { Strategy = RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromMilliseconds(150) }) }, cancellationToken: Ct);
        Assert.True(bg.Result == DeploymentResult.Promoted, bg.Reason);
        Assert.Null(m.GetStatus().DispatcherProgramId);

        var v3 = TestArtifacts.Create(StateRoot, "3.0.0", TcxHook, expectedVerdict: 0, objectName: "lifecycle_tc");
        var canary = await m.DeployAsync(v3, new DeploymentRequest { Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [5_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(100) }) }, cancellationToken: Ct);
        Assert.True(canary.Result == DeploymentResult.Promoted, canary.Reason);

        var status = m.GetStatus();
        Assert.Equal(3, status.ActiveVersionId);
        Assert.NotNull(status.DispatcherProgramId);
        Assert.Equal(link, status.LinkIds.Values.Single());
        var more = Net.SendUdp(100);
        // Two test-vector runs (blue-green and canary) also counted in the shared state map.
        var expected = (ulong)(sent + more + 2);
        Assert.Equal(expected, await SettleAsync(() => ReadPackets(3), expected));
        Assert.True(ReadStats(3).Runs >= more);

        // Behind the dispatcher, an immediate switch and a rollback are single control-word writes.
        var dispatcher = status.DispatcherProgramId;
        var v4 = TestArtifacts.Create(StateRoot, "4.0.0", TcxHook, expectedVerdict: 0, objectName: "lifecycle_tc");
        Assert.Equal(DeploymentResult.Promoted, (await m.DeployAsync(v4, new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct)).Result);
        Assert.Equal(4, m.GetStatus().ActiveVersionId);
        var rollback = await m.RollbackAsync(cancellationToken: Ct);
        Assert.True(rollback.Result == DeploymentResult.Promoted, rollback.Reason);
        status = m.GetStatus();
        Assert.Equal(3, status.ActiveVersionId);
        Assert.Equal(dispatcher, status.DispatcherProgramId);
        Assert.Equal(link, status.LinkIds.Values.Single());
        var v3Runs = ReadStats(3).Runs;
        var last = Net.SendUdp(50);
        Assert.Equal(v3Runs + last, await SettleAsync(() => ReadStats(3).Runs, v3Runs + last));
    }
}
